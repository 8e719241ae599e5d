// Package vertex reconciles Vertices. A function vertex becomes a Deployment
// and a Service (built by pkg/reconciler/workload); sources and sinks run in
// the activator and have none. Every vertex's status carries its lifecycle
// phase: Running, Pausing while its buffer drains, Paused.
//
// The reconciler reads only the Vertex and the objects it owns, never its
// Pipeline or a Function: the Pipeline reconciler copies into each Vertex
// everything it needs (its function spec, its desired phase), and the
// scaler writes its replicas through the scale subresource.
package vertex

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Reconciler runs Vertices.
type Reconciler struct {
	client.Client
}

// What the Vertex reconciler does with the API, for the generated
// ClusterRole (config/rbac/role.yaml): it reads Vertices, updates them (the
// pause annotations, and spec.replicas on resume) and their status; it
// creates and updates each function vertex's Deployment and Service and
// watches them (it never deletes them: the garbage collector does, through
// their owner reference). Setting blockOwnerDeletion on that owner reference
// needs update on vertices/finalizers where the OwnerReferencesPermission-
// Enforcement admission plugin is on. Nothing on pipelines or functions.
//
// +kubebuilder:rbac:groups=freshet.dev,resources=vertices,verbs=get;list;watch;update
// +kubebuilder:rbac:groups=freshet.dev,resources=vertices/status,verbs=update
// +kubebuilder:rbac:groups=freshet.dev,resources=vertices/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update

// SetupWithManager registers the reconciler: it watches Vertices and the
// Deployments and Services they own.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Vertex{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Named("vertex").
		Complete(r)
}
