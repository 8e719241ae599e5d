package dataplane

import "github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"

// VertexPath is how logs, metrics, URLs and the plane name a vertex:
// "namespace/pipeline/vertex".
func VertexPath(v *v1alpha1.Vertex) string {
	return pathOf(v.Namespace, v.Spec.PipelineName, v.Spec.Name)
}

func pathOf(namespace, pipeline, vertex string) string {
	return namespace + "/" + pipeline + "/" + vertex
}

// bufferName names the buffer in front of a vertex; '_' cannot occur in the
// parts, so names are unambiguous.
func bufferName(namespace, pipeline, vertex string) string {
	return namespace + "_" + pipeline + "_" + vertex
}

// Runs reports whether a vertex's dispatcher runs: always, but once a
// pause has drained it (status.phase Paused) until it is resumed.
func Runs(v *v1alpha1.Vertex) bool {
	return v.Spec.Lifecycle.DesiredPhase != v1alpha1.PhasePaused || v.Status.Phase != v1alpha1.PhasePaused
}
