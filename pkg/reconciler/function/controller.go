// Package function reconciles Functions: each becomes a Deployment and a
// Service (built by pkg/reconciler/workload), and its status says where the
// activator serves it and how many replicas run.
package function

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Reconciler turns Functions into workloads.
type Reconciler struct {
	client.Client
	// ActivatorURL is the base URL of the activator's Service (for example
	// http://freshet-activator.freshet-system.svc.cluster.local); a
	// Function's address is ActivatorURL/functions/<namespace>/<name>.
	ActivatorURL string
}

// What the Function reconciler does with the API, for the generated
// ClusterRole (config/rbac/role.yaml): it reads Functions and writes their
// status; it creates and updates each Function's Deployment and Service and
// watches them (it never deletes them: the garbage collector does, through
// their owner reference). Setting blockOwnerDeletion on that owner reference
// needs update on functions/finalizers where the OwnerReferencesPermission-
// Enforcement admission plugin is on.
//
// +kubebuilder:rbac:groups=freshet.dev,resources=functions,verbs=get;list;watch
// +kubebuilder:rbac:groups=freshet.dev,resources=functions/status,verbs=update
// +kubebuilder:rbac:groups=freshet.dev,resources=functions/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update

// SetupWithManager registers the reconciler: it watches Functions and the
// Deployments and Services they own.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Function{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Named("function").
		Complete(r)
}
