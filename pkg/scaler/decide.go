package scaler

import (
	"fmt"
	"sync"
	"time"
)

// Observation is what was measured for one function at one moment.
type Observation struct {
	// Backlog is the number of events waiting for the function: the
	// buffer's pending count (which includes events dispatched and in
	// flight) or a source's lag. Negative values count as 0.
	Backlog int64
	// InFlight is the number of synchronous requests being processed now.
	// Buffered events in flight are not counted here: they are in Backlog.
	// (Counting them here too would hold a pipeline-fed function at its
	// current size, since its dispatcher keeps every slot busy.)
	InFlight int
	// Waiting is the number of synchronous requests the activator holds
	// until a replica can take them.
	Waiting int
	// Rate is the observed completions per second per ready replica; 0
	// means unknown (no replica ready, or too few samples yet).
	Rate float64
	// Current is the replicas the runtime has been asked for (the last
	// applied decision).
	Current int
	// Ready is the replicas ready now. The decision does not use it today:
	// Rate is already per ready replica, so replicas still starting do not
	// distort it. It is here for the applying loop and for logs.
	Ready int
	// UpstreamBacklog is the backlog of the vertices that feed this one; 0
	// if none. It wakes this one ahead of its first event.
	UpstreamBacklog int64
}

// Decision is the replicas a function should run, and why.
type Decision struct {
	// Desired is the replica count, within [Spec.Min, Spec.Max].
	Desired int
	// Reason is a short human-readable cause, for events and logs: it
	// starts with one of "fixed", "wake", "wake ahead", "scale up",
	// "steady", "stabilising", "idle", "scale down", "idle to zero".
	Reason string
}

// Decider makes the scaling decisions of one function. It keeps the
// recommendations made within the scale-down window and the last time the
// function had work. It is safe for concurrent use, but Decide is meant to be
// called by one loop, about once a second, with a time that does not go back.
type Decider struct {
	mu         sync.Mutex
	spec       Spec
	peaks      peakWindow
	lastActive time.Time // last Decide that saw work here or upstream
	started    bool      // Decide has been called at least once
}

// NewDecider returns a Decider for a function scaled by spec.
func NewDecider(spec Spec) *Decider {
	return &Decider{spec: spec.normalise()}
}

// SetSpec replaces the scaling policy. The history (recommendations still
// within the window, the idle clock) is kept, so a spec change neither
// releases a held scale-down nor restarts the idle timeout.
func (d *Decider) SetSpec(spec Spec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.spec = spec.normalise()
}

// Decide returns the replicas the function should run at now, given o.
//
// The rules, in order:
//   - The recommendation is the replicas the load calls for (see
//     recommend); anything pending makes it at least 1, so a function at zero
//     wakes at once.
//   - With nothing pending here but a backlog upstream, it is 1: the
//     function is woken (or kept warm) before the events reach it. Upstream
//     backlog also counts as activity for the idle clock, so a replica woken
//     ahead is not taken away before its work arrives.
//   - With nothing pending anywhere, a running function keeps 1 replica
//     until IdleTimeout has passed since it last had work; after that the
//     recommendation is 0.
//   - A recommendation at or above Current applies at once: scale-up is not
//     rate-limited beyond Max, since the load is the queue itself (not the
//     throughput of the replicas running now) and does not compound.
//   - A lower, non-zero recommendation applies only down to the highest
//     recommendation within ScaleDownWindow, so a noisy backlog holds the
//     count instead of moving it down and up.
//   - Zero bypasses the window: IdleTimeout is its own, stricter,
//     stabilisation (no work at all for that long).
//   - The result is bounded to [Min, Max]; Min == Max always gives Min.
func (d *Decider) Decide(now time.Time, o Observation) Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.spec
	current := max(o.Current, 0)
	pending := o.Backlog > 0 || o.InFlight > 0 || o.Waiting > 0
	upstream := o.UpstreamBacklog > 0
	if !d.started {
		// A new Decider (say, after the scaler restarted) has no history.
		// It takes the running count as if recommended just now and the
		// function as just active, so it removes no replica before it has
		// watched a full ScaleDownWindow, or IdleTimeout for the last one.
		d.peaks.record(now, current, s.ScaleDownWindow)
		d.lastActive, d.started = now, true
	}
	if pending || upstream {
		d.lastActive = now
	}

	dm := recommend(s, o)
	rec, cause := dm.replicas, dm.String()
	idleFor := now.Sub(d.lastActive)
	switch {
	case rec > 0:
	case upstream:
		rec, cause = 1, fmt.Sprintf("upstream backlog %d", o.UpstreamBacklog)
	case current == 0:
	case idleFor < s.IdleTimeout:
		rec, cause = 1, fmt.Sprintf("no work for %s of %s idle timeout", idleFor, s.IdleTimeout)
	default:
		cause = fmt.Sprintf("no work for %s (idle timeout %s)", idleFor, s.IdleTimeout)
	}

	peak := d.peaks.record(now, rec, s.ScaleDownWindow)
	desired := rec
	if rec > 0 && rec < current {
		desired = min(current, peak)
	}
	bounded := min(max(desired, s.Min), s.Max)
	return Decision{Desired: bounded, Reason: reason(s, current, rec, desired, bounded, pending, cause)}
}

// reason says why the decision is bounded, given the recommendation rec
// (explained by cause), the stabilised count desired and the bounded one.
func reason(s Spec, current, rec, desired, bounded int, pending bool, cause string) string {
	if s.fixed() {
		return fmt.Sprintf("fixed: min == max == %d", s.Min)
	}
	var r string
	switch {
	case bounded == current && desired > rec:
		r = fmt.Sprintf("stabilising: window peak %d, %s", desired, cause)
	case bounded == current && rec == 0:
		r = "idle: " + cause
	case bounded == current:
		r = "steady: " + cause
	case bounded > current && current == 0 && pending:
		r = "wake: " + cause
	case bounded > current && current == 0 && rec > 0:
		r = "wake ahead: " + cause
	case bounded > current:
		r = "scale up: " + cause
	case bounded == 0:
		r = "idle to zero: " + cause
	case desired > rec:
		r = fmt.Sprintf("scale down: window peak %d, %s", desired, cause)
	case rec == 1 && !pending:
		r = "idle: " + cause
	default:
		r = "scale down: " + cause
	}
	switch {
	case bounded > desired:
		r += fmt.Sprintf(" (min %d)", s.Min)
	case bounded < desired:
		r += fmt.Sprintf(" (max %d)", s.Max)
	}
	return r
}
