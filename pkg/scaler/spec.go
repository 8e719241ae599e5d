// Package scaler decides how many replicas a function (or pipeline vertex)
// should run, from its backlog, in-flight work and processing rate.
//
// The decision is pure: a Decider takes the time as an argument and reads
// nothing else from the world, so every rule is testable with a fake clock.
// Applying a decision (the Kubernetes scale subresource, or the local process
// runtime) is separate code that calls Decide once per tick per function.
package scaler

import "time"

// Spec is a function's (or vertex's) scaling policy, already defaulted (see
// v1alpha1.Scale.SetDefaults). A Decider never fails on a bad Spec: values
// outside the documented ranges are read as the nearest valid one (see
// normalise), because the API validation has already rejected them.
type Spec struct {
	// Min is the fewest replicas, >= 0. 0 lets the function scale to zero
	// after IdleTimeout.
	Min int
	// Max is the most replicas, >= max(Min, 1). Min == Max means the
	// function is never autoscaled: it always runs Min replicas.
	Max int
	// TargetBacklog is the number of events, >= 1, one replica should carry
	// (waiting plus in flight). The scaler asks for backlog / TargetBacklog
	// replicas, rounded up.
	TargetBacklog int
	// TargetSeconds, when > 0, is the time within which the scaler aims to
	// drain the backlog at the observed per-replica completion rate: a
	// replica then carries Rate × TargetSeconds events instead of
	// TargetBacklog. It is used only while a rate is known (Observation.Rate
	// > 0); otherwise TargetBacklog applies. 0 turns it off.
	TargetSeconds time.Duration
	// ContainerConcurrency is the number of events one replica works on at
	// once (its in-flight capacity). When > 0 the scaler also asks for
	// enough replicas to give every in-flight and waiting request a slot:
	// (InFlight + Waiting) / ContainerConcurrency, rounded up. 0 means
	// unlimited and adds nothing.
	ContainerConcurrency int
	// ScaleDownWindow is the stabilisation window, >= 0: the scaler scales
	// down only to the highest recommendation it made within this window,
	// so a replica is removed only after the lower value has held for the
	// whole window. 0 scales down at once. Scale-up never waits.
	ScaleDownWindow time.Duration
	// IdleTimeout is how long, >= 0, a function keeps one replica with zero
	// backlog, nothing in flight, nothing waiting and no upstream backlog
	// before it scales to zero (when Min == 0).
	IdleTimeout time.Duration
}

// normalise returns s with every field in its documented range, so the
// decision never divides by zero or returns a count outside [Min, Max].
func (s Spec) normalise() Spec {
	s.Min = max(s.Min, 0)
	s.Max = max(s.Max, s.Min, 1)
	s.TargetBacklog = max(s.TargetBacklog, 1)
	s.TargetSeconds = max(s.TargetSeconds, 0)
	s.ContainerConcurrency = max(s.ContainerConcurrency, 0)
	s.ScaleDownWindow = max(s.ScaleDownWindow, 0)
	s.IdleTimeout = max(s.IdleTimeout, 0)
	return s
}

// fixed reports whether the spec turns autoscaling off.
func (s Spec) fixed() bool { return s.Min == s.Max }
