package kubernetes

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/dataplane"
)

// Applier is what Sync keeps in step with the cluster: the data plane.
type Applier interface {
	Apply(ctx context.Context, res dataplane.Resources) error
}

// Sync applies every Function and Vertex in the cluster to the data plane
// whenever one of them changes.
//
// Every change enqueues the same request, so a burst of changes coalesces
// into one Apply of the whole set, read from the cache: the plane diffs it
// against what runs. It reads Vertices, not Pipelines: a Vertex carries
// everything its dispatcher needs (its resolved function, edges, delivery
// and desired phase), as the Vertex reconciler also relies on.
type Sync struct {
	// Client reads Functions and Vertices, normally the manager's cached
	// client.
	Client client.Client
	Plane  Applier
}

// syncRequest is the one request every change enqueues.
var syncRequest = reconcile.Request{NamespacedName: types.NamespacedName{Name: "data-plane"}}

// SetupWithManager registers Sync under name (default "freshet-sync").
func (s *Sync) SetupWithManager(mgr ctrl.Manager, name string) error {
	if name == "" {
		name = "freshet-sync"
	}
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{syncRequest}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		Watches(&v1alpha1.Function{}, all, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.Vertex{}, all, builder.WithPredicates(vertexChanged)).
		Complete(s)
}

// vertexChanged passes the Vertex updates the data plane acts on: its spec
// (the generation) and its phase (a drained pause stops its dispatcher),
// not the backlog the activator itself reports.
var vertexChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*v1alpha1.Vertex)
		n, ok2 := e.ObjectNew.(*v1alpha1.Vertex)
		if !ok1 || !ok2 {
			return true
		}
		return o.Generation != n.Generation || o.Status.Phase != n.Status.Phase
	},
}

// Reconcile applies the whole set.
func (s *Sync) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	res, err := s.Resources(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, s.Plane.Apply(ctx, res)
}

// Resources lists every Function and Vertex.
func (s *Sync) Resources(ctx context.Context) (dataplane.Resources, error) {
	var fns v1alpha1.FunctionList
	if err := s.Client.List(ctx, &fns); err != nil {
		return dataplane.Resources{}, fmt.Errorf("list Functions: %w", err)
	}
	var vs v1alpha1.VertexList
	if err := s.Client.List(ctx, &vs); err != nil {
		return dataplane.Resources{}, fmt.Errorf("list Vertices: %w", err)
	}
	var res dataplane.Resources
	for i := range fns.Items {
		res.Functions = append(res.Functions, &fns.Items[i])
	}
	for i := range vs.Items {
		res.Vertices = append(res.Vertices, &vs.Items[i])
	}
	return res, nil
}
