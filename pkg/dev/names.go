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

// bufferName names the buffer in front of a vertex; '_' cannot occur in the
// parts, so names are unambiguous.
func bufferName(v *v1alpha1.Vertex) string {
	return v.Namespace + "_" + v.Spec.PipelineName + "_" + v.Spec.Name
}

// vertexPath is how logs, metrics and URLs name a vertex.
func vertexPath(v *v1alpha1.Vertex) string {
	return v.Namespace + "/" + v.Spec.PipelineName + "/" + v.Spec.Name
}
