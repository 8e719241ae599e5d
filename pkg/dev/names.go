package dev

import "github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"

// functionKey names a function's replica set: a Function by its own name,
// an inline function by its vertex, so pipelines that reference the same
// Function share its replicas.
func functionKey(v *v1alpha1.Vertex) string {
	if v.Spec.FunctionName != "" {
		return v.Namespace + "/" + v.Spec.FunctionName
	}
	return v.Namespace + "/" + v.Name
}
