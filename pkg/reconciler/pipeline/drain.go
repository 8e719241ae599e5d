package pipeline

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Deleting a Pipeline: its finalizer holds the deletion until every Vertex
// has paused (its sources stopped and its buffers drained), so no accepted
// event is dropped.
const (
	// DrainFinalizer is added to every Pipeline on its first reconcile.
	DrainFinalizer = "freshet.dev/drain"
	// DrainTimeoutAnnotation on a Pipeline bounds the wait for its Vertices
	// to pause when it is deleted, as a Go duration ("90s", "10m") measured
	// from its deletionTimestamp. Default DefaultDrainTimeout; an invalid or
	// negative value means the default.
	DrainTimeoutAnnotation = "freshet.dev/drain-timeout"
	// ForceDeleteAnnotation set to "true" on a Pipeline deletes it at once,
	// without waiting for its Vertices to drain.
	ForceDeleteAnnotation = "freshet.dev/force-delete"
	// DefaultDrainTimeout is the drain timeout without the annotation.
	DefaultDrainTimeout = 5 * time.Minute
)

// drainPoll bounds the wait between two looks at a draining pipeline; the
// Vertices' status changes usually wake it sooner.
const drainPoll = 30 * time.Second

// drain is what to do with a deleted Pipeline's finalizer.
type drain struct {
	// release means remove the finalizer, for reason (an Event reason).
	release bool
	reason  string
	message string
	// wait is how long to wait before looking again, when not releasing.
	wait time.Duration
}

// decideDrain decides, at now, whether a deleted Pipeline may go: at once
// with the force-delete annotation; when every Vertex it controls (after
// being told to pause) reports Paused; or when the drain timeout has passed
// since its deletion.
func decideDrain(now time.Time, p *v1alpha1.Pipeline, vertices []*v1alpha1.Vertex) drain {
	if p.Annotations[ForceDeleteAnnotation] == "true" {
		return drain{release: true, reason: EventForceDeleted,
			message: fmt.Sprintf("deleted without draining (%s: \"true\"): events buffered or in flight may be lost", ForceDeleteAnnotation)}
	}
	var behind []string
	for _, v := range vertices {
		if reportedPhase(v) != v1alpha1.PhasePaused {
			behind = append(behind, v.Name)
		}
	}
	if len(behind) == 0 {
		return drain{release: true, reason: EventDrained, message: "every Vertex paused; deleted"}
	}
	timeout, note := drainTimeout(p.Annotations[DrainTimeoutAnnotation])
	deadline := p.DeletionTimestamp.Add(timeout)
	if !now.Before(deadline) {
		return drain{release: true, reason: EventDrainTimeout,
			message: fmt.Sprintf("gave up after the drain timeout of %s waiting for %s to pause; deleted%s", timeout, vertexList(behind), note)}
	}
	return drain{reason: ReasonDraining, wait: min(deadline.Sub(now), drainPoll),
		message: fmt.Sprintf("deleting: waiting for %s to pause, until %s (drain timeout %s; annotate %s: \"true\" to delete now)%s",
			vertexList(behind), deadline.UTC().Format(time.RFC3339), timeout, ForceDeleteAnnotation, note)}
}

// drainTimeout reads the drain-timeout annotation; note, to append to a
// message, explains a value that was ignored.
func drainTimeout(value string) (time.Duration, string) {
	if value == "" {
		return DefaultDrainTimeout, ""
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 {
		return DefaultDrainTimeout, fmt.Sprintf("; %s %q is not a duration such as 90s, so the default %s applies",
			DrainTimeoutAnnotation, value, DefaultDrainTimeout)
	}
	return d, ""
}

// finalize handles a deleted Pipeline: it tells every Vertex to pause and
// keeps the finalizer until decideDrain lets it go.
func (r *Reconciler) finalize(ctx context.Context, p *v1alpha1.Pipeline) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(p, DrainFinalizer) {
		return ctrl.Result{}, nil
	}
	var vertices []*v1alpha1.Vertex
	if p.Annotations[ForceDeleteAnnotation] != "true" {
		existing, err := r.listVertices(ctx, p)
		if err != nil {
			return ctrl.Result{}, err
		}
		if vertices, err = r.setDesiredPhase(ctx, controlled(p, existing), v1alpha1.PhasePaused); err != nil {
			return ctrl.Result{}, err
		}
	}
	d := decideDrain(r.clock(), p, vertices)
	if !d.release {
		before := p.Status.DeepCopy()
		p.Status.Phase = v1alpha1.PhasePausing
		markNotReady(&p.Status, p.Generation, d.reason, d.message)
		return ctrl.Result{RequeueAfter: d.wait}, r.writeStatus(ctx, p, before)
	}
	eventType := corev1.EventTypeNormal
	if d.reason != EventDrained {
		eventType = corev1.EventTypeWarning
	}
	if r.recorder != nil {
		r.recorder.Eventf(p, nil, eventType, d.reason, "Delete", "%s", d.message)
	}
	ctrl.LoggerFrom(ctx).Info("releasing the drain finalizer", "reason", d.reason, "message", d.message)
	controllerutil.RemoveFinalizer(p, DrainFinalizer)
	if err := r.Update(ctx, p); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("pipeline %s/%s: removing finalizer: %w", p.Namespace, p.Name, err)
	}
	return ctrl.Result{}, nil
}
