package vertex

import (
	"context"
	"fmt"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
	"github.com/freshetproj/freshet/pkg/reconciler/workload"
)

// Reconcile brings one Vertex's workload and phase to its spec and writes
// its status, only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var v v1alpha1.Vertex
	if err := r.Get(ctx, req.NamespacedName, &v); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !v.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owned objects go with it
	}
	before := v.Status.DeepCopy()
	res, err := r.reconcile(ctx, &v)
	v.Status.ObservedGeneration = v.Generation
	if !equality.Semantic.DeepEqual(before, &v.Status) {
		if uerr := r.Status().Update(ctx, &v); uerr != nil {
			return ctrl.Result{}, fmt.Errorf("vertex %s: status: %w", req.NamespacedName, uerr)
		}
		if before.Phase != v.Status.Phase {
			log.FromContext(ctx).Info("phase changed", "from", before.Phase, "to", v.Status.Phase)
		}
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("vertex %s: %w", req.NamespacedName, err)
	}
	return res, nil
}

func (r *Reconciler) reconcile(ctx context.Context, v *v1alpha1.Vertex) (ctrl.Result, error) {
	st := &v.Status
	if errs := v.Validate(); len(errs) > 0 {
		// A bad spec will not get better by retrying: say so and stop.
		workload.SetReady(&st.Conditions, v.Generation, false, workload.ReasonInvalidSpec, errs.ToAggregate().Error())
		log.FromContext(ctx).Info("invalid spec", "error", errs.ToAggregate())
		return ctrl.Result{}, nil
	}
	want := v.DeepCopy()
	want.SetDefaults()
	current, err := r.deploymentReplicas(ctx, v)
	if err != nil {
		workload.SetReady(&st.Conditions, v.Generation, false, workload.ReasonDeploymentFailed, err.Error())
		return ctrl.Result{}, err
	}
	d := Decide(want, current, time.Now())
	// The pause record goes first: once the Deployment is scaled down, the
	// count to resume to can be read nowhere else.
	if err := r.updateVertex(ctx, v, d); err != nil {
		return ctrl.Result{}, err
	}
	if want.Spec.Function == nil {
		st.Replicas, st.ReadyReplicas, st.Selector = 0, 0, ""
		st.Phase = d.Phase
		workload.SetReady(&st.Conditions, v.Generation, true, workload.ReasonReady, activatorRuns)
		return ctrl.Result{RequeueAfter: d.RequeueAfter}, nil
	}
	w := workload.Workload{
		Name:      v.Name,
		Namespace: v.Namespace,
		Labels: map[string]string{
			resources.PipelineLabelKey: v.Spec.PipelineName,
			resources.VertexLabelKey:   v.Spec.Name,
		},
		Owner:    ownerReference(v),
		Spec:     want.Spec.Function,
		Replicas: d.Replicas,
	}
	dep, err := workload.ApplyDeployment(ctx, r.Client, workload.MakeDeployment(w))
	if err != nil {
		workload.SetReady(&st.Conditions, v.Generation, false, workload.ReasonDeploymentFailed, err.Error())
		return ctrl.Result{}, err
	}
	if _, err := workload.ApplyService(ctx, r.Client, workload.MakeService(w)); err != nil {
		workload.SetReady(&st.Conditions, v.Generation, false, workload.ReasonServiceFailed, err.Error())
		return ctrl.Result{}, err
	}
	st.Replicas = dep.Status.Replicas
	st.ReadyReplicas = dep.Status.ReadyReplicas
	st.Selector = labels.SelectorFromSet(w.Selector()).String()
	st.Phase = d.Phase
	workload.SetDeploymentReady(&st.Conditions, v.Generation, dep)
	return ctrl.Result{RequeueAfter: d.RequeueAfter}, nil
}

// deploymentReplicas is the live Deployment's spec.replicas: nil for a
// source or sink, or before the Deployment exists.
func (r *Reconciler) deploymentReplicas(ctx context.Context, v *v1alpha1.Vertex) (*int32, error) {
	if v.Spec.Function == nil {
		return nil, nil
	}
	var dep appsv1.Deployment
	err := r.Get(ctx, client.ObjectKeyFromObject(v), &dep)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get Deployment %s: %w", v.Name, err)
	}
	return dep.Spec.Replicas, nil
}

// updateVertex writes d's annotations and spec.replicas to the Vertex when
// they differ, and takes the new metadata and spec into v (not the status,
// which v holds as this pass computed it).
func (r *Reconciler) updateVertex(ctx context.Context, v *v1alpha1.Vertex, d Decision) error {
	if maps.Equal(v.Annotations, d.Annotations) && d.SpecReplicas == nil {
		return nil
	}
	u := v.DeepCopy()
	u.Annotations = d.Annotations
	if d.SpecReplicas != nil {
		u.Spec.Replicas = d.SpecReplicas
	}
	if err := r.Update(ctx, u); err != nil {
		return fmt.Errorf("update pause record: %w", err)
	}
	v.ObjectMeta, v.Spec = u.ObjectMeta, u.Spec
	return nil
}

func ownerReference(v *v1alpha1.Vertex) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion:         v1alpha1.GroupVersion.String(),
		Kind:               v1alpha1.KindVertex,
		Name:               v.Name,
		UID:                v.UID,
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}
}
