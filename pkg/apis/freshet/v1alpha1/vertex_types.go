package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Vertex is one vertex of a Pipeline, owned by it and fully self-contained:
// it carries its own copy of the desired phase, its resolved function spec
// (scale, delivery, batch) and its outgoing edges, so whatever runs it looks
// at nothing else.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=vtx,categories=freshet
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Pipeline",type=string,JSONPath=`.spec.pipelineName`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Backlog",type=integer,JSONPath=`.status.backlog`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Vertex struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VertexSpec   `json:"spec"`
	Status VertexStatus `json:"status,omitempty"`
}

// VertexSpec is one vertex with everything needed to run it.
type VertexSpec struct {
	// PipelineName is the owning pipeline.
	PipelineName string `json:"pipelineName"`
	// Name is the vertex name inside the pipeline.
	Name string `json:"name"`
	// +optional
	Source *Source `json:"source,omitempty"`
	// Function is the resolved function (a referenced Function's spec is
	// copied in).
	// +optional
	Function *FunctionSpec `json:"function,omitempty"`
	// FunctionName is the Function a function vertex referenced, if any.
	// +optional
	FunctionName string `json:"functionName,omitempty"`
	// +optional
	Sink *Sink `json:"sink,omitempty"`
	// Edges are the vertex's outgoing edges.
	// +optional
	Edges []Edge `json:"edges,omitempty"`
	// +optional
	Lifecycle Lifecycle `json:"lifecycle,omitempty"`
	// Replicas is set by the scaler through the scale subresource.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
}

// VertexStatus is what Freshet observed of a vertex.
type VertexStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// +optional
	Replicas int32 `json:"replicas"`
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
	// Backlog is the number of events in the vertex's buffer, as the
	// activator last observed it at BacklogTime.
	// +optional
	Backlog int64 `json:"backlog"`
	// BacklogTime is when Backlog was observed.
	// +optional
	BacklogTime *metav1.Time `json:"backlogTime,omitempty"`
	// Selector selects the vertex's pods, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
}

// VertexList is a list of Vertices.
//
// +kubebuilder:object:root=true
type VertexList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Vertex `json:"items"`
}
