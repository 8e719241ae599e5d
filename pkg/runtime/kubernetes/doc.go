// Package kubernetes is the activator's runtime in Kubernetes mode: it finds
// the ready replicas of every function from the EndpointSlices of its
// Service (Endpoints), and applies the scaler's decisions through the scale
// subresource of Functions and Vertices (Scaler).
//
// Function keys, as the router sees them, are "<namespace>/<service name>",
// where the Service's name is the Function's or the Vertex's object name
// (see pkg/reconciler/workload).
package kubernetes
