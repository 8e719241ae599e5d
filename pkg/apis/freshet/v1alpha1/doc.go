// Package v1alpha1 holds the Freshet API (group freshet.dev, version
// v1alpha1): Function, Pipeline and Vertex, with their defaults and
// validation in one place. The CRDs are generated from these types.
//
// +kubebuilder:object:generate=true
// +groupName=freshet.dev
package v1alpha1
