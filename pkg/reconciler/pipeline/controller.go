// Package pipeline reconciles Pipelines: each becomes one Vertex per
// vertex (built by resources.MakeVertices), self-contained: a referenced
// Function's spec, a sink's resolved URL and the desired phase are copied
// in. The Pipeline's status sums up what its Vertices report, and deleting
// a Pipeline pauses its Vertices and waits for them to drain.
package pipeline

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// The controller's own Pipelines, their Vertices and the Functions they use.
// (Pipelines and Vertices are read from the cache only; functions get is
// for a sink naming a Function, read like any Addressable.)
// +kubebuilder:rbac:groups=freshet.dev,resources=pipelines,verbs=list;watch;update
// +kubebuilder:rbac:groups=freshet.dev,resources=pipelines/status,verbs=update
// +kubebuilder:rbac:groups=freshet.dev,resources=pipelines/finalizers,verbs=update
// +kubebuilder:rbac:groups=freshet.dev,resources=vertices,verbs=list;watch;create;patch;delete
// +kubebuilder:rbac:groups=freshet.dev,resources=functions,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
//
// Addressables an http sink may name by ref: read (get only, never cached
// or watched) to learn their status.address.url. These are the Knative kinds
// that are Addressable, and Freshet's Functions (above). A sink ref to any
// other kind reads as DestinationNotResolved with the API server's Forbidden
// message until the cluster grants get on it, for example through a
// ClusterRole aggregated into the controller's (Knative's convention is the
// label duck.knative.dev/addressable: "true").
// +kubebuilder:rbac:groups=serving.knative.dev,resources=services;routes,verbs=get
// +kubebuilder:rbac:groups=eventing.knative.dev,resources=brokers,verbs=get
// +kubebuilder:rbac:groups=messaging.knative.dev,resources=channels;inmemorychannels,verbs=get
// +kubebuilder:rbac:groups=flows.knative.dev,resources=sequences;parallels,verbs=get

// Reconciler turns Pipelines into Vertices.
type Reconciler struct {
	client.Client

	// recorder records the outcome of a deletion; nil (before
	// SetupWithManager) records nothing.
	recorder events.EventRecorder
	// now is the clock; nil means time.Now.
	now func() time.Time
}

// functionIndex indexes Pipelines by the Functions they use, as
// "<namespace>/<name>": see functionKeys.
const functionIndex = "freshet.dev/functions"

// SetupWithManager registers the reconciler: it watches Pipelines, the
// Vertices they own, and the Functions they use (as function vertices or as
// a sink's ref), so a Function that appears or changes reaches its
// Pipelines at once. Status updates of Vertices and Functions that the
// Pipeline does not read (backlog, replicas) are filtered out.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Pipeline{}, functionIndex,
		func(o client.Object) []string { return functionKeys(o.(*v1alpha1.Pipeline)) })
	if err != nil {
		return fmt.Errorf("pipeline controller: indexing pipelines by function: %w", err)
	}
	r.recorder = mgr.GetEventRecorder("freshet-pipeline-controller")
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Pipeline{}).
		Owns(&v1alpha1.Vertex{}, builder.WithPredicates(vertexChanged)).
		Watches(&v1alpha1.Function{}, handler.EnqueueRequestsFromMapFunc(r.pipelinesUsing),
			builder.WithPredicates(functionChanged)).
		Named("pipeline").
		Complete(r)
}

// pipelinesUsing maps a Function to the Pipelines that use it.
func (r *Reconciler) pipelinesUsing(ctx context.Context, fn client.Object) []reconcile.Request {
	var list v1alpha1.PipelineList
	key := fn.GetNamespace() + "/" + fn.GetName()
	if err := r.List(ctx, &list, client.MatchingFields{functionIndex: key}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the pipelines that use a function", "function", key)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, p := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
	}
	return reqs
}

func (r *Reconciler) clock() time.Time {
	if r.now == nil {
		return time.Now()
	}
	return r.now()
}
