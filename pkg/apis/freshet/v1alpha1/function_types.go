package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Function is one CloudEvents handler: a container that serves the function
// contract on its port, scaled by its backlog.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=fn,categories=freshet
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Backlog",type=integer,JSONPath=`.status.backlog`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.address.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Function struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FunctionSpec   `json:"spec"`
	Status FunctionStatus `json:"status,omitempty"`
}

// FunctionSpec is what a user declares about a function.
type FunctionSpec struct {
	Container Container `json:"container"`
	// Replicas is set by Freshet's scaler through the scale subresource;
	// leave it unset.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// +optional
	Scale Scale `json:"scale,omitempty"`
	// +optional
	Delivery Delivery `json:"delivery,omitempty"`
	// Batch, when set, sends events in batches.
	// +optional
	Batch *Batch `json:"batch,omitempty"`
}

// Container is how to run a function. On Kubernetes the image runs; under
// freshet dev, command and args run as a local process with PORT set.
//
// +kubebuilder:validation:XValidation:rule="has(self.image) || has(self.command)",message="container needs an image or a command"
type Container struct {
	// +optional
	Image string `json:"image,omitempty"`
	// +optional
	Command []string `json:"command,omitempty"`
	// +optional
	Args []string `json:"args,omitempty"`
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// WorkingDir is where the process starts. Under freshet dev a relative
	// path is taken from the directory of the file that declared it, which is
	// also the default.
	// +optional
	WorkingDir string `json:"workingDir,omitempty"`
	// Port the function listens on (PORT is set to it). Default 8080; under
	// freshet dev every replica gets a free port instead.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// HealthPath answers 200 when a replica is ready. Default /healthz.
	// +optional
	// +kubebuilder:validation:Pattern=`^/`
	HealthPath string `json:"healthPath,omitempty"`
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
	// SecurityContext replaces Freshet's safe default for the container
	// (no privilege escalation, every capability dropped).
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`
}

// FunctionStatus is what Freshet observed of a function.
//
// Replicas, ReadyReplicas and Backlog are always written, also when 0, so
// that `kubectl get fn` shows a function at zero as 0, not <none>.
type FunctionStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	Replicas int32 `json:"replicas"`
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
	// Backlog is the number of events waiting for the function.
	// +optional
	Backlog int64 `json:"backlog"`
	// Address is where to invoke the function synchronously.
	// +optional
	Address *Addressable `json:"address,omitempty"`
	// Selector selects the function's pods, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
}

// FunctionList is a list of Functions.
//
// +kubebuilder:object:root=true
type FunctionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Function `json:"items"`
}
