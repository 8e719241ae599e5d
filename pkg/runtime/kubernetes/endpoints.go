package kubernetes

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/freshetproj/freshet/pkg/reconciler/workload"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch

// Router is told which replicas of a function take events.
type Router interface {
	// SetEndpoints replaces the set of ready replica base URLs
	// (http://<address>:<port>) of function, "<namespace>/<service name>".
	SetEndpoints(function string, urls []string)
}

// Endpoints keeps a Router's endpoints in step with the ready Pods of
// Freshet functions.
//
// It reads Pods, not the EndpointSlices of the function Services: they
// carry the same facts (Pod IP, readiness, deletion), and the API server
// refuses loopback addresses in EndpointSlices, so the EndpointSlice
// controller cannot publish the replicas of a node whose pods are local
// processes on 127.0.x.y. Reading Pods also needs no EndpointSlice
// controller at all.
//
// It is a controller-runtime reconciler keyed by function rather than a
// plain informer handler: a function's endpoints are the merge of all its
// pods, so each event only names the function and the reconciler
// recomputes the whole set from the cache. That needs no state of its own,
// coalesces bursts of pod updates into one SetEndpoints, handles deletes
// the same way as updates (no pods left means no endpoints), and runs
// under the manager the activator already has.
//
// A pod belongs to a function when it carries the labels workload gives
// every function pod: workload.ComponentLabelKey = workload.ComponentFunction and
// workload.FunctionLabelKey, whose value is also the name of the
// function's Service (the Service selects its pods by that label), hence
// the Router key "<namespace>/<value>".
type Endpoints struct {
	// Client reads Pods, normally the manager's cached client.
	Client client.Client
	// Router receives the endpoints.
	Router Router
}

// selector selects function pods. Give it to the manager's cache, see
// CacheByObject.
func selector() labels.Selector {
	r1, err := labels.NewRequirement(workload.FunctionLabelKey, selection.Exists, nil)
	if err != nil {
		panic(err)
	}
	r2, err := labels.NewRequirement(workload.ComponentLabelKey, selection.Equals, []string{workload.ComponentFunction})
	if err != nil {
		panic(err)
	}
	return labels.NewSelector().Add(*r1, *r2)
}

// CacheByObject restricts a manager's cache of Pods to function pods, for
// ctrl.Options.Cache.ByObject, so the activator does not hold every pod of
// the cluster in memory.
func CacheByObject() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&corev1.Pod{}: {Label: selector()},
	}
}

// functionOf returns the function (its Service) obj is a pod of.
func functionOf(obj client.Object) (types.NamespacedName, bool) {
	l := obj.GetLabels()
	fn := l[workload.FunctionLabelKey]
	if fn == "" || l[workload.ComponentLabelKey] != workload.ComponentFunction {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: obj.GetNamespace(), Name: fn}, true
}

// SetupWithManager registers the reconciler under name (default
// "freshet-endpoints").
func (e *Endpoints) SetupWithManager(mgr ctrl.Manager, name string) error {
	if name == "" {
		name = "freshet-endpoints"
	}
	toFunction := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		if key, ok := functionOf(obj); ok {
			return []reconcile.Request{{NamespacedName: key}}
		}
		return nil
	})
	// The map function sees both the old and the new pod of an update,
	// so a pod relabelled from one function to another updates both.
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		Watches(&corev1.Pod{}, toFunction).
		Complete(e)
}

// Reconcile sends the Router the endpoints of all pods of the function req
// names; none when it has no pods left.
func (e *Endpoints) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var list corev1.PodList
	if err := e.Client.List(ctx, &list, client.InNamespace(req.Namespace), client.MatchingLabels{
		workload.FunctionLabelKey:  req.Name,
		workload.ComponentLabelKey: workload.ComponentFunction,
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing pods of function %s: %w", req.NamespacedName, err)
	}
	e.Router.SetEndpoints(req.Namespace+"/"+req.Name, URLs(list.Items))
	return ctrl.Result{}, nil
}
