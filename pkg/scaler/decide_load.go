package scaler

import (
	"fmt"
	"math"
	"time"
)

// maxReplicas bounds a recommendation before Spec.Max does, so a huge backlog
// or a tiny rate cannot overflow an int.
const maxReplicas = math.MaxInt32

// demand is the replica count a load calls for, before the idle and
// wake-ahead floors, the scale-down window and [Min, Max], with what it was
// computed from (for Decision.Reason; formatted only when asked).
type demand struct {
	replicas int
	load     int64
	// perReplica is the events one replica should carry; rate and within
	// are set when it came from the observed rate and Spec.TargetSeconds.
	perReplica float64
	rate       float64
	within     time.Duration
	// concurrency is set when the in-flight capacity asked for more
	// replicas than the load did; slots is InFlight + Waiting.
	concurrency int
	slots       int64
}

// recommend returns the replicas o's load calls for under s: 0 with nothing
// pending, else at least 1.
//
// The load is Backlog + InFlight + Waiting: buffered events (waiting or in
// flight), synchronous requests being served, and synchronous requests held
// for a replica. The three never overlap.
//
// One replica carries Rate × TargetSeconds events when TargetSeconds is set
// and the rate is known, else TargetBacklog. With ContainerConcurrency set,
// the result is also at least enough replicas to give every in-flight and
// waiting request a slot.
func recommend(s Spec, o Observation) demand {
	inFlight, waiting := int64(max(o.InFlight, 0)), int64(max(o.Waiting, 0))
	load := max(o.Backlog, 0)
	load = min(load, math.MaxInt64-inFlight) + inFlight
	load = min(load, math.MaxInt64-waiting) + waiting

	d := demand{load: load, perReplica: float64(s.TargetBacklog)}
	if s.TargetSeconds > 0 && o.Rate > 0 && !math.IsInf(o.Rate, 0) {
		d.rate, d.within = o.Rate, s.TargetSeconds
		d.perReplica = o.Rate * s.TargetSeconds.Seconds()
	}
	d.replicas = replicasFor(float64(load), d.perReplica)
	if s.ContainerConcurrency > 0 {
		slots := inFlight + waiting
		if n := replicasFor(float64(slots), float64(s.ContainerConcurrency)); n > d.replicas {
			d.replicas, d.concurrency, d.slots = n, s.ContainerConcurrency, slots
		}
	}
	return d
}

// replicasFor is ceil(load / perReplica): 0 for no load, at least 1 for any,
// at most maxReplicas.
func replicasFor(load, perReplica float64) int {
	if load <= 0 {
		return 0
	}
	q := load / perReplica
	if !(q < maxReplicas) { // also catches NaN and +Inf
		return maxReplicas
	}
	// Forgive float noise such as 30 / (0.1 × 100) = 2.9999999999999996 → 3,
	// or 3.0000000000000004 → 3 rather than 4.
	return max(1, int(math.Ceil(q-1e-9)))
}

// String explains the demand, e.g. "load 120 / target 10".
func (d demand) String() string {
	switch {
	case d.load == 0:
		return "no load"
	case d.concurrency > 0:
		return fmt.Sprintf("in flight + waiting %d / concurrency %d", d.slots, d.concurrency)
	case d.within > 0:
		return fmt.Sprintf("load %d / %.3g per replica (%.3g/s × %s)", d.load, d.perReplica, d.rate, d.within)
	default:
		return fmt.Sprintf("load %d / target %.0f", d.load, d.perReplica)
	}
}
