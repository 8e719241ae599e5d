package vertex

import (
	"maps"
	"strconv"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/workload"
)

// Annotations on a Vertex that is pausing or paused. They live in the
// Vertex's metadata, not its status, because they cannot be observed again
// once the Deployment is at zero: status must be rebuildable from the world.
const (
	// PausedAtAnnotation is when the pause began (RFC 3339 with
	// nanoseconds). The vertex is drained once the activator reports an
	// empty buffer observed after it.
	PausedAtAnnotation = "freshet.dev/paused-at"
	// ResumeReplicasAnnotation is, on a function vertex, how many replicas
	// the Deployment ran when the pause began: the fewest it runs again on
	// resume.
	ResumeReplicasAnnotation = "freshet.dev/resume-replicas"
)

// DrainPollInterval is how often a Pausing vertex is looked at again when
// nothing changes, so a drained buffer is noticed even without an event.
const DrainPollInterval = 2 * time.Second

// Decision is what a Vertex should look like now.
type Decision struct {
	// Phase is the vertex's status.phase.
	Phase v1alpha1.Phase
	// Replicas is what the Deployment of a function vertex runs; zero for
	// sources and sinks, which have none.
	Replicas int32
	// Annotations are the Vertex's annotations as they should be: the
	// input's, with PausedAtAnnotation and ResumeReplicasAnnotation set or
	// removed. Nil when the input had none and none are set.
	Annotations map[string]string
	// SpecReplicas, when not nil, is written to spec.replicas: on resume,
	// the restored replica count, so that the next pass (which reads
	// spec.replicas, not the annotation that is gone) keeps it until the
	// scaler decides otherwise.
	SpecReplicas *int32
	// RequeueAfter is when to look again without an event; zero for never.
	RequeueAfter time.Duration
}

// Decide is the lifecycle of a Vertex: its phase, its function's replicas
// and the annotations that carry a pause across passes. v must be defaulted
// and valid; deployment is the live Deployment's spec.replicas (nil when
// there is none); now is the time of this pass.
//
// Running: the scaler's decision, spec.replicas, kept within the function's
// [min, max] (min before the scaler decides).
//
// Pause: a source is Paused at once (the activator stops taking events).
// A function or sink vertex is Pausing until its buffer is drained: the
// activator reports status.backlog 0 observed (status.backlogTime) after
// PausedAtAnnotation; a function keeps at least the replicas it ran when
// the pause began (more if the scaler asks, say to wake it from zero to
// drain), then goes to zero. Paused stays Paused until resumed, though the
// backlog grows again.
//
// Resume, from Pausing or Paused: Running again, with at least the replicas
// of ResumeReplicasAnnotation (the scaler may have lowered spec.replicas
// while the vertex was idle), and the pause annotations removed.
func Decide(v *v1alpha1.Vertex, deployment *int32, now time.Time) Decision {
	d := Decision{Annotations: maps.Clone(v.Annotations)}
	fn := v.Spec.Function
	var scaled int32
	if fn != nil {
		scaled = workload.Replicas(&fn.Scale, v.Spec.Replicas)
	}
	if v.Spec.Lifecycle.DesiredPhase != v1alpha1.PhasePaused {
		d.Phase, d.Replicas = v1alpha1.PhaseRunning, scaled
		if r, ok := resumeReplicas(v.Annotations); ok && fn != nil {
			if r = workload.Replicas(&fn.Scale, &r); r > scaled {
				d.Replicas, d.SpecReplicas = r, &r
			}
		}
		d.removePause()
		return d
	}
	if v.Spec.Source != nil {
		d.Phase = v1alpha1.PhasePaused
		d.removePause()
		return d
	}
	if v.Status.Phase == v1alpha1.PhasePaused {
		d.Phase = v1alpha1.PhasePaused
		return d
	}
	pausedAt, ok := pausedAt(v.Annotations)
	if !ok {
		pausedAt = now
		d.set(PausedAtAnnotation, now.UTC().Format(time.RFC3339Nano))
	}
	if drained(&v.Status, pausedAt) {
		d.Phase = v1alpha1.PhasePaused
		return d
	}
	d.Phase, d.RequeueAfter = v1alpha1.PhasePausing, DrainPollInterval
	if fn != nil {
		hold, ok := resumeReplicas(v.Annotations)
		if !ok {
			hold = scaled
			if deployment != nil {
				hold = *deployment
			}
			d.set(ResumeReplicasAnnotation, strconv.FormatInt(int64(hold), 10))
		}
		d.Replicas = max(hold, scaled)
	}
	return d
}

// drained reports whether the activator saw the vertex's buffer empty after
// the pause began. BacklogTime has whole seconds only; truncation makes it
// earlier, never later, so one after pausedAt truly is.
func drained(st *v1alpha1.VertexStatus, pausedAt time.Time) bool {
	return st.Backlog == 0 && st.BacklogTime != nil && st.BacklogTime.After(pausedAt)
}

// pausedAt reads PausedAtAnnotation; false when it is missing or malformed.
func pausedAt(a map[string]string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, a[PausedAtAnnotation])
	return t, err == nil
}

// resumeReplicas reads ResumeReplicasAnnotation; false when it is missing
// or malformed.
func resumeReplicas(a map[string]string) (int32, bool) {
	n, err := strconv.ParseInt(a[ResumeReplicasAnnotation], 10, 32)
	return int32(n), err == nil && n >= 0
}

func (d *Decision) set(key, value string) {
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[key] = value
}

func (d *Decision) removePause() {
	delete(d.Annotations, PausedAtAnnotation)
	delete(d.Annotations, ResumeReplicasAnnotation)
}
