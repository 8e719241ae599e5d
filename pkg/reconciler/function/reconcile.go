package function

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/workload"
)

// Reconcile brings one Function's workload to its spec and writes its
// status, only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var fn v1alpha1.Function
	if err := r.Get(ctx, req.NamespacedName, &fn); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !fn.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owned objects go with it
	}
	before := fn.Status.DeepCopy()
	err := r.reconcile(ctx, &fn)
	fn.Status.ObservedGeneration = fn.Generation
	if !equality.Semantic.DeepEqual(before, &fn.Status) {
		if uerr := r.Status().Update(ctx, &fn); uerr != nil {
			return ctrl.Result{}, fmt.Errorf("function %s: status: %w", req.NamespacedName, uerr)
		}
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("function %s: %w", req.NamespacedName, err)
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) reconcile(ctx context.Context, fn *v1alpha1.Function) error {
	st := &fn.Status
	spec := fn.Spec.DeepCopy()
	spec.SetDefaults()
	if errs := fn.Validate(); len(errs) > 0 {
		// A bad spec will not get better by retrying: say so and stop.
		workload.SetReady(&st.Conditions, fn.Generation, false, workload.ReasonInvalidSpec, errs.ToAggregate().Error())
		log.FromContext(ctx).Info("invalid spec", "error", errs.ToAggregate())
		return nil
	}
	w := workload.Workload{
		Name:      fn.Name,
		Namespace: fn.Namespace,
		Owner:     ownerReference(fn),
		Spec:      spec,
		Replicas:  workload.Replicas(&spec.Scale, spec.Replicas),
	}
	dep, err := workload.ApplyDeployment(ctx, r.Client, workload.MakeDeployment(w))
	if err != nil {
		workload.SetReady(&st.Conditions, fn.Generation, false, workload.ReasonDeploymentFailed, err.Error())
		return err
	}
	if _, err := workload.ApplyService(ctx, r.Client, workload.MakeService(w)); err != nil {
		workload.SetReady(&st.Conditions, fn.Generation, false, workload.ReasonServiceFailed, err.Error())
		return err
	}
	st.Replicas = dep.Status.Replicas
	st.ReadyReplicas = dep.Status.ReadyReplicas
	st.Selector = labels.SelectorFromSet(w.Selector()).String()
	st.Address = &v1alpha1.Addressable{URL: r.ActivatorURL + "/functions/" + fn.Namespace + "/" + fn.Name}
	workload.SetDeploymentReady(&st.Conditions, fn.Generation, dep)
	return nil
}

func ownerReference(fn *v1alpha1.Function) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion:         v1alpha1.GroupVersion.String(),
		Kind:               v1alpha1.KindFunction,
		Name:               fn.Name,
		UID:                fn.UID,
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}
}
