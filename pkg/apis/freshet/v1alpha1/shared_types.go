package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Scale says how many replicas a function runs and how it is scaled by its
// backlog.
// +kubebuilder:validation:XValidation:rule="!has(self.min) || !has(self.max) || self.min <= self.max",message="min must not be greater than max",fieldPath=".min"
type Scale struct {
	// Min is the fewest replicas; 0 lets the function scale to zero when idle.
	// Default 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Min *int32 `json:"min,omitempty"`
	// Max is the most replicas. Default 10.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Max *int32 `json:"max,omitempty"`
	// TargetBacklog is the number of waiting events one replica should
	// carry; the scaler adds replicas above it. Default 10.
	// +optional
	// +kubebuilder:validation:Minimum=1
	TargetBacklog *int32 `json:"targetBacklog,omitempty"`
	// ContainerConcurrency is the most events sent to one replica at a time.
	// Default 8.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ContainerConcurrency *int32 `json:"containerConcurrency,omitempty"`
	// IdleTimeout is how long a function with no backlog and nothing in
	// flight keeps its last replica before scaling to zero. Default 30s.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="must be a positive duration such as 200ms"
	IdleTimeout *metav1.Duration `json:"idleTimeout,omitempty"`
	// TargetSeconds, when set, sizes the function to drain its backlog
	// within this time at the observed processing rate per replica, instead
	// of by TargetBacklog (which still applies while no rate is known).
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="must be a positive duration such as 200ms"
	TargetSeconds *metav1.Duration `json:"targetSeconds,omitempty"`
	// ScaleDownWindow stabilises scale-down: replicas go down only to the
	// highest count the load called for over this window. Default 30s.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="must be a duration such as 30s, not negative"
	ScaleDownWindow *metav1.Duration `json:"scaleDownWindow,omitempty"`
	// ActivationTimeout is how long a synchronous request waits for a ready
	// replica (while the function wakes from zero, or all replicas are busy)
	// before it is answered 503. Default 60s.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="must be a positive duration such as 200ms"
	ActivationTimeout *metav1.Duration `json:"activationTimeout,omitempty"`
	// MaxWaiting bounds the synchronous requests held while waiting for a
	// replica; more are answered 429. At least 1. Default 1000.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxWaiting *int32 `json:"maxWaiting,omitempty"`
}

// BackoffPolicy is how the delay between delivery attempts grows.
// +kubebuilder:validation:Enum=linear;exponential
type BackoffPolicy string

const (
	// BackoffLinear waits delay × attempt.
	BackoffLinear BackoffPolicy = "linear"
	// BackoffExponential waits delay × 2^(attempt-1).
	BackoffExponential BackoffPolicy = "exponential"
)

// Delivery is the retry and dead-letter policy for sending events to a
// function or sink, following Knative's delivery spec.
type Delivery struct {
	// Retry is how many times a failed attempt is retried (so attempts =
	// retry + 1). Default 3.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Retry *int32 `json:"retry,omitempty"`
	// BackoffPolicy is linear or exponential. Default exponential.
	// +optional
	BackoffPolicy BackoffPolicy `json:"backoffPolicy,omitempty"`
	// BackoffDelay is the base delay between attempts. Default 200ms.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="must be a positive duration such as 200ms"
	BackoffDelay *metav1.Duration `json:"backoffDelay,omitempty"`
	// Timeout bounds one attempt. Default 30s.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="must be a positive duration such as 200ms"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// DeadLetterSink receives events that failed every attempt, or failed
	// permanently, with extensions naming the destination, the status code
	// and the start of the response body. Without one such events are
	// logged and dropped.
	// +optional
	DeadLetterSink *Destination `json:"deadLetterSink,omitempty"`
}

// Destination is where events go: a URI, or a reference to an object
// (Knative's Destination duck type). In a Pipeline, a ref of kind Vertex names
// a sink vertex of the same pipeline.
//
// +kubebuilder:validation:XValidation:rule="has(self.ref) || has(self.uri)",message="a destination needs a ref or a uri"
type Destination struct {
	// +optional
	Ref *KReference `json:"ref,omitempty"`
	// URI is an absolute URL, or a path relative to the ref's address.
	// +optional
	URI string `json:"uri,omitempty"`
}

// KReference names an object, as Knative's KReference does.
type KReference struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
}

// Batch asks for events in batches, sent as
// application/cloudevents-batch+json; the function replies with a batch.
type Batch struct {
	// MaxSize is the most events in one batch (at least 1).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	MaxSize int32 `json:"maxSize"`
	// MaxWait is how long a partial batch waits for more events. Default 10ms.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="must be a duration such as 30s, not negative"
	MaxWait *metav1.Duration `json:"maxWait,omitempty"`
}

// Addressable says where a resource takes events.
type Addressable struct {
	URL string `json:"url,omitempty"`
}

// Condition types and reasons shared by the resources.
const (
	// ConditionReady is the top-level condition of every resource.
	ConditionReady = "Ready"
)
