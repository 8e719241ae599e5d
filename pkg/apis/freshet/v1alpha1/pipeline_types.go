package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pipeline is a graph of vertices (sources, functions, sinks) joined by
// edges, with a durable buffer in front of every function and sink.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=pl,categories=freshet
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Vertices",type=integer,JSONPath=`.status.vertices`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Pipeline struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PipelineSpec   `json:"spec"`
	Status PipelineStatus `json:"status,omitempty"`
}

// PipelineSpec is the pipeline's graph and lifecycle.
//
// +kubebuilder:validation:XValidation:rule="self.edges.all(e, self.vertices.exists(v, v.name == e.from))",message="every edge's from must name a vertex",fieldPath=".edges"
// +kubebuilder:validation:XValidation:rule="self.edges.all(e, self.vertices.exists(v, v.name == e.to))",message="every edge's to must name a vertex",fieldPath=".edges"
// +kubebuilder:validation:XValidation:rule="self.edges.all(e, !self.vertices.exists(v, v.name == e.to && has(v.source)))",message="a source vertex cannot have incoming edges",fieldPath=".edges"
// +kubebuilder:validation:XValidation:rule="self.edges.all(e, !self.vertices.exists(v, v.name == e.from && has(v.sink)))",message="a sink vertex cannot have outgoing edges",fieldPath=".edges"
type PipelineSpec struct {
	// Vertices are unique by name.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Vertices []PipelineVertex `json:"vertices"`
	// +kubebuilder:validation:MaxItems=256
	Edges []Edge `json:"edges"`
	// +optional
	Lifecycle Lifecycle `json:"lifecycle,omitempty"`
}

// PipelineVertex is one vertex: exactly one of Source, Function or Sink.
//
// +kubebuilder:validation:XValidation:rule="[has(self.source), has(self.function), has(self.sink)].filter(x, x).size() == 1",message="a vertex is exactly one of source, function or sink"
type PipelineVertex struct {
	// Name is unique in the pipeline: lower-case letters, digits and '-'.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// +optional
	Source *Source `json:"source,omitempty"`
	// +optional
	Function *FunctionVertex `json:"function,omitempty"`
	// +optional
	Sink *Sink `json:"sink,omitempty"`
}

// Source takes events in from outside: exactly one kind is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.http), has(self.kafka), has(self.sqs), has(self.pulsar)].filter(x, x).size() == 1",message="a source is exactly one of http, kafka, sqs or pulsar"
type Source struct {
	// HTTP takes events POSTed to /pipelines/{namespace}/{pipeline}/{vertex}.
	// +optional
	HTTP *HTTPSource `json:"http,omitempty"`
	// +optional
	Kafka *KafkaSource `json:"kafka,omitempty"`
	// +optional
	SQS *SQSSource `json:"sqs,omitempty"`
	// +optional
	Pulsar *PulsarSource `json:"pulsar,omitempty"`
}

// HTTPSource takes CloudEvents over HTTP (binary, structured or batch).
type HTTPSource struct{}

// FunctionVertex runs a function: a Function by reference, or inline.
//
// +kubebuilder:validation:XValidation:rule="has(self.ref) != has(self.spec)",message="a function vertex has exactly one of ref or spec"
type FunctionVertex struct {
	// Ref names a Function in the pipeline's namespace.
	// +optional
	Ref *LocalObjectReference `json:"ref,omitempty"`
	// Spec is an inline function.
	// +optional
	Spec *FunctionSpec `json:"spec,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	Name string `json:"name"`
}

// Sink writes events out of the pipeline: exactly one kind is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.log), has(self.http), has(self.kafka), has(self.sqs), has(self.pulsar)].filter(x, x).size() == 1",message="a sink is exactly one of log, http, kafka, sqs or pulsar"
type Sink struct {
	// Log writes one JSON line per event on standard output.
	// +optional
	Log *LogSink `json:"log,omitempty"`
	// HTTP POSTs each event (binary mode) to a destination.
	// +optional
	HTTP *Destination `json:"http,omitempty"`
	// +optional
	Kafka *KafkaSink `json:"kafka,omitempty"`
	// +optional
	SQS *SQSSink `json:"sqs,omitempty"`
	// +optional
	Pulsar *PulsarSink `json:"pulsar,omitempty"`
	// Delivery is the retry policy for writing to the sink.
	// +optional
	Delivery *Delivery `json:"delivery,omitempty"`
}

// LogSink writes events as JSON lines on standard output.
type LogSink struct{}

// Edge joins two vertices; events flow from From to To when Filter matches.
// Several edges from one vertex fan out: an event goes along every edge whose
// filter matches.
type Edge struct {
	// +kubebuilder:validation:MaxLength=63
	From string `json:"from"`
	// +kubebuilder:validation:MaxLength=63
	To string `json:"to"`
	// +optional
	Filter *Filter `json:"filter,omitempty"`
}

// Filter matches CloudEvent attributes (core or extension); every condition
// must hold. An empty filter matches everything.
type Filter struct {
	// Exact maps attribute names to the value they must equal.
	// +optional
	Exact map[string]string `json:"exact,omitempty"`
	// Prefix maps attribute names to a prefix their value must start with.
	// +optional
	Prefix map[string]string `json:"prefix,omitempty"`
}

// Phase is the lifecycle phase of a pipeline or vertex.
type Phase string

const (
	// PhaseRunning processes events.
	PhaseRunning Phase = "Running"
	// PhasePaused keeps taking and buffering events but dispatches none.
	PhasePaused Phase = "Paused"
	// PhasePausing is a pipeline on its way to Paused: its sources have
	// stopped and its functions are draining their buffers.
	PhasePausing Phase = "Pausing"
)

// Lifecycle holds the desired phase.
type Lifecycle struct {
	// DesiredPhase is Running or Paused. Default Running.
	// +optional
	// +kubebuilder:validation:Enum=Running;Paused
	DesiredPhase Phase `json:"desiredPhase,omitempty"`
}

// PipelineStatus is what Freshet observed of a pipeline.
type PipelineStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// Vertices is the number of vertices.
	// +optional
	Vertices int32 `json:"vertices,omitempty"`
}

// PipelineList is a list of Pipelines.
//
// +kubebuilder:object:root=true
type PipelineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Pipeline `json:"items"`
}
