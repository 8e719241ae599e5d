// Package kubernetes is the activator's runtime in Kubernetes mode: Sync
// applies every Function and Vertex to the data plane as they change;
// Endpoints finds the ready replicas of every function from its Pods;
// Runner and Scaler apply the scaler's
// decisions through the scale subresource of Functions and Vertices; and
// BacklogReporter writes each Vertex's buffer backlog into its status.
//
// Function keys, as the router sees them, are "<namespace>/<service name>",
// where the Service's name is the Function's or the Vertex's object name
// (see pkg/reconciler/workload).
package kubernetes
