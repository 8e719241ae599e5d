// Package workload builds the Kubernetes objects that run a function — a
// Deployment and a Service — for a Function or a function Vertex: pure
// functions from a defaulted spec to the desired objects.
package workload

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Labels on every function pod.
const (
	// FunctionLabelKey names the Function (or Vertex) the pod runs.
	FunctionLabelKey = "freshet.dev/function"
	// ComponentLabelKey is ComponentFunction on function pods.
	ComponentLabelKey = "app.kubernetes.io/component"
	// ComponentFunction is the value of ComponentLabelKey on function pods.
	ComponentFunction = "function"
	// PortName names the container port (and the Service port) a function
	// serves CloudEvents on.
	PortName = "http"
	// ContainerName is the function's container in the pod.
	ContainerName = "function"
	// ServicePort is the port the function's Service serves on.
	ServicePort = 80
)

// Workload is one function to run.
type Workload struct {
	Name      string
	Namespace string
	// Labels go on every object and pod, beside the selector label.
	Labels map[string]string
	Owner  metav1.OwnerReference
	// Spec must be defaulted.
	Spec *v1alpha1.FunctionSpec
	// Replicas is what the scaler decided (or the spec's minimum).
	Replicas int32
}

// Selector is the label selector of the workload's pods.
func (w Workload) Selector() map[string]string {
	return map[string]string{FunctionLabelKey: w.Name}
}

func (w Workload) labels() map[string]string {
	l := map[string]string{ComponentLabelKey: ComponentFunction}
	for k, v := range w.Labels {
		l[k] = v
	}
	for k, v := range w.Selector() {
		l[k] = v
	}
	return l
}

func (w Workload) meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            w.Name,
		Namespace:       w.Namespace,
		Labels:          w.labels(),
		OwnerReferences: []metav1.OwnerReference{w.Owner},
	}
}

// MakeDeployment is the Deployment that runs the function's replicas.
func MakeDeployment(w Workload) *appsv1.Deployment {
	replicas := w.Replicas
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: w.meta(),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: w.Selector()},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr(intstr.FromInt32(0)),
					MaxSurge:       ptr(intstr.FromString("25%")),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: w.labels()},
				Spec:       makePodSpec(w.Spec),
			},
		},
	}
}

// MakeService is the Service in front of the function's pods, for callers
// inside the cluster; its selector label names the function, and the
// activator finds ready replicas from the pods carrying it.
func MakeService(w Workload) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: w.meta(),
		Spec: corev1.ServiceSpec{
			Selector: w.Selector(),
			Ports: []corev1.ServicePort{{
				Name:       PortName,
				Port:       ServicePort,
				TargetPort: intstr.FromInt32(w.Spec.Container.Port),
				Protocol:   corev1.ProtocolTCP,
			}},
		},
	}
}

func makePodSpec(spec *v1alpha1.FunctionSpec) corev1.PodSpec {
	c := spec.Container
	env := append([]corev1.EnvVar{{Name: "PORT", Value: strconv.Itoa(int(c.Port))}}, c.Env...)
	container := corev1.Container{
		Name:       ContainerName,
		Image:      c.Image,
		Command:    c.Command,
		Args:       c.Args,
		WorkingDir: c.WorkingDir,
		Env:        env,
		Ports:      []corev1.ContainerPort{{Name: PortName, ContainerPort: c.Port, Protocol: corev1.ProtocolTCP}},
		Resources:  c.Resources,
		ReadinessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{
				HTTPGet: &corev1.HTTPGetAction{Path: c.HealthPath, Port: intstr.FromInt32(c.Port)},
			},
			PeriodSeconds:    1,
			FailureThreshold: 3,
		},
		SecurityContext: securityContext(c.SecurityContext),
	}
	// Long enough for the events a replica holds to finish after it is
	// told to stop (the router has already stopped sending it new ones).
	grace := int64(spec.Delivery.Timeout.Seconds()) + 5
	return corev1.PodSpec{
		Containers:                    []corev1.Container{container},
		TerminationGracePeriodSeconds: &grace,
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// securityContext is the user's container security context, or safe
// defaults: no privilege escalation, every capability dropped.
func securityContext(user *corev1.SecurityContext) *corev1.SecurityContext {
	if user != nil {
		return user.DeepCopy()
	}
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func ptr[T any](v T) *T { return &v }
