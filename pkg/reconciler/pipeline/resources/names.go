// Package resources builds the objects a Pipeline owns from its spec: pure
// functions shared by the Pipeline reconciler and freshet dev.
package resources

// Labels set on every object a Pipeline owns.
const (
	// PipelineLabelKey names the owning Pipeline.
	PipelineLabelKey = "freshet.dev/pipeline"
	// VertexLabelKey names the vertex inside the Pipeline.
	VertexLabelKey = "freshet.dev/vertex"
)

// VertexName is the name of the Vertex object for a pipeline vertex:
// "<pipeline>-<vertex>". Pipeline validation keeps it a DNS-1123 label.
func VertexName(pipeline, vertex string) string {
	return pipeline + "-" + vertex
}
