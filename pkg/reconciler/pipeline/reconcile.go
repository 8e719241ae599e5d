package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
)

const (
	// RetryInterval is how soon a Pipeline is looked at again while a
	// sink's destination does not resolve or a Vertex it needs belongs to
	// another owner (nothing it watches would say when that changes).
	RetryInterval = 10 * time.Second
	// AddressResync is how often a Pipeline whose sink names an Addressable
	// other than a Function (which is watched) looks again at its address.
	AddressResync = 5 * time.Minute
)

// Reconcile brings one Pipeline's Vertices to its spec and writes its
// status, only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var p v1alpha1.Pipeline
	if err := r.Get(ctx, req.NamespacedName, &p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &p)
	}
	if controllerutil.AddFinalizer(&p, DrainFinalizer) {
		if err := r.Update(ctx, &p); err != nil {
			return ctrl.Result{}, fmt.Errorf("pipeline %s: adding finalizer: %w", req.NamespacedName, err)
		}
	}
	before := p.Status.DeepCopy()
	result, err := r.reconcile(ctx, &p)
	if serr := r.writeStatus(ctx, &p, before); serr != nil {
		return ctrl.Result{}, serr
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("pipeline %s: %w", req.NamespacedName, err)
	}
	return result, nil
}

// writeStatus sets observedGeneration and writes the status if it differs
// from before.
func (r *Reconciler) writeStatus(ctx context.Context, p *v1alpha1.Pipeline, before *v1alpha1.PipelineStatus) error {
	p.Status.ObservedGeneration = p.Generation
	if equality.Semantic.DeepEqual(before, &p.Status) {
		return nil
	}
	if err := r.Status().Update(ctx, p); err != nil {
		return fmt.Errorf("pipeline %s/%s: status: %w", p.Namespace, p.Name, err)
	}
	return nil
}

func (r *Reconciler) reconcile(ctx context.Context, p *v1alpha1.Pipeline) (ctrl.Result, error) {
	st, gen := &p.Status, p.Generation
	st.Vertices = int32(len(p.Spec.Vertices))
	if errs := p.Validate(); len(errs) > 0 {
		// A bad spec will not get better by retrying: say so and stop.
		markNotReady(st, gen, ReasonInvalidSpec, errs.ToAggregate().Error())
		ctrl.LoggerFrom(ctx).Info("invalid spec", "error", errs.ToAggregate())
		return ctrl.Result{}, nil
	}
	desired := p.Spec.Lifecycle.DesiredPhase
	if desired == "" {
		desired = v1alpha1.DefaultPhase
	}
	existing, err := r.listVertices(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	in, err := r.fetchInputs(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	var resolved *v1alpha1.Pipeline
	if len(in.unresolved) == 0 {
		// An address that is not an http URL, or a uri that does not
		// resolve against it, is unresolved too: the Addressable may
		// still change.
		if resolved, err = resources.ResolveSinks(p, in.addresses); err != nil {
			in.unresolved = append(in.unresolved, err.Error())
		}
	}
	if len(in.missing) > 0 || len(in.unresolved) > 0 {
		return r.keepRunning(ctx, p, desired, existing, in)
	}
	want, err := resources.MakeVertices(resolved, in.functions)
	if err != nil {
		return ctrl.Result{}, err
	}
	plan := planVertices(p, want, existing)
	vertices, notOwned, err := r.applyVertices(ctx, plan)
	if err != nil {
		return ctrl.Result{}, err
	}
	markPhase(st, gen, summarize(desired, st.Phase, vertices))
	if len(notOwned) > 0 {
		markNotReady(st, gen, ReasonVertexNotOwned, fmt.Sprintf(
			"another controller owns %s: delete it or rename the vertex", vertexList(notOwned)))
		return ctrl.Result{RequeueAfter: RetryInterval}, nil
	}
	for _, s := range resources.SinkRefs(p) {
		if !isFunction(s.Ref) {
			return ctrl.Result{RequeueAfter: AddressResync}, nil
		}
	}
	return ctrl.Result{}, nil
}

// keepRunning handles a Pipeline whose Functions or sink addresses cannot
// all be had: its Vertices keep what they run, but still follow its desired
// phase, so a pipeline can be paused while a Function is missing.
func (r *Reconciler) keepRunning(ctx context.Context, p *v1alpha1.Pipeline, desired v1alpha1.Phase, existing []*v1alpha1.Vertex, in inputs) (ctrl.Result, error) {
	vertices, err := r.setDesiredPhase(ctx, controlled(p, existing), desired)
	if err != nil {
		return ctrl.Result{}, err
	}
	st := &p.Status
	if len(vertices) > 0 { // else there is nothing to report a phase
		st.Phase = summarize(desired, st.Phase, vertices).phase
	}
	var why []string
	reason := ReasonDestinationNotResolved
	if len(in.missing) > 0 {
		reason = ReasonFunctionNotFound
		why = append(why, fmt.Sprintf("no Function %s in namespace %s", strings.Join(in.missing, ", "), p.Namespace))
	}
	why = append(why, in.unresolved...)
	markNotReady(st, p.Generation, reason, strings.Join(why, "; "))
	if len(in.unresolved) > 0 {
		return ctrl.Result{RequeueAfter: RetryInterval}, nil
	}
	return ctrl.Result{}, nil // the Function watch brings it back
}
