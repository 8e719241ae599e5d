package kubernetes

import (
	"context"
	"fmt"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/freshetproj/freshet/pkg/reconciler/workload"
)

// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch

// Router is told which replicas of a function take events.
type Router interface {
	// SetEndpoints replaces the set of ready replica base URLs
	// (http://<address>:<port>) of function, "<namespace>/<service name>".
	SetEndpoints(function string, urls []string)
}

// Endpoints keeps a Router's endpoints in step with the EndpointSlices of
// Freshet function Services.
//
// It is a controller-runtime reconciler keyed by Service rather than a
// plain informer handler: a Service's endpoints are the merge of all its
// slices, so each event only names the Service and the reconciler
// recomputes the whole set from the cache. That needs no state of its own,
// coalesces bursts of slice updates into one SetEndpoints, handles deletes
// the same way as updates (no slices left means no endpoints), and runs
// under the manager the activator already has.
//
// A slice belongs to a function Service when it carries the label
// workload.FunctionLabelKey equal to its kubernetes.io/service-name label:
// the EndpointSlice controller copies a Service's labels onto its slices,
// and a function Service is labelled with its own name.
type Endpoints struct {
	// Client reads EndpointSlices, normally the manager's cached client.
	Client client.Client
	// Router receives the endpoints.
	Router Router
}

// Selector selects the EndpointSlices of function Services (and some
// others, which Reconcile filters out). Give it to the manager's cache, see
// CacheByObject.
func Selector() labels.Selector {
	r1, err := labels.NewRequirement(workload.FunctionLabelKey, selection.Exists, nil)
	if err != nil {
		panic(err)
	}
	r2, err := labels.NewRequirement(discoveryv1.LabelServiceName, selection.Exists, nil)
	if err != nil {
		panic(err)
	}
	return labels.NewSelector().Add(*r1, *r2)
}

// CacheByObject restricts a manager's cache of EndpointSlices to those of
// function Services, for ctrl.Options.Cache.ByObject, so the activator does
// not hold every slice of the cluster in memory.
func CacheByObject() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&discoveryv1.EndpointSlice{}: {Label: Selector()},
	}
}

// serviceOf returns the function Service obj is a slice of.
func serviceOf(obj client.Object) (types.NamespacedName, bool) {
	l := obj.GetLabels()
	svc := l[discoveryv1.LabelServiceName]
	if svc == "" || l[workload.FunctionLabelKey] != svc {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: obj.GetNamespace(), Name: svc}, true
}

// SetupWithManager registers the reconciler under name (default
// "freshet-endpoints").
func (e *Endpoints) SetupWithManager(mgr ctrl.Manager, name string) error {
	if name == "" {
		name = "freshet-endpoints"
	}
	toService := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		if key, ok := serviceOf(obj); ok {
			return []reconcile.Request{{NamespacedName: key}}
		}
		return nil
	})
	isFunction := predicate.NewPredicateFuncs(func(obj client.Object) bool {
		_, ok := serviceOf(obj)
		return ok
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		Watches(&discoveryv1.EndpointSlice{}, toService, builder.WithPredicates(isFunction)).
		Complete(e)
}

// Reconcile sends the Router the merged endpoints of all slices of the
// Service req names; none when it has no slices left.
func (e *Endpoints) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var list discoveryv1.EndpointSliceList
	if err := e.Client.List(ctx, &list, client.InNamespace(req.Namespace), client.MatchingLabels{
		discoveryv1.LabelServiceName: req.Name,
		workload.FunctionLabelKey:    req.Name,
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing endpoint slices of %s: %w", req.NamespacedName, err)
	}
	e.Router.SetEndpoints(req.Namespace+"/"+req.Name, URLs(list.Items))
	return ctrl.Result{}, nil
}
