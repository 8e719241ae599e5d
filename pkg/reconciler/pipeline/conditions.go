package pipeline

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Reasons of the Ready condition.
const (
	// ReasonRunning: desired Running, and every Vertex reports Running
	// (Ready True).
	ReasonRunning = "Running"
	// ReasonPaused: desired Paused, and every Vertex reports Paused (Ready
	// True).
	ReasonPaused = "Paused"
	// ReasonPausing: desired Paused, and some Vertex does not report Paused
	// yet.
	ReasonPausing = "Pausing"
	// ReasonResuming: desired Running after a pause, and some Vertex does
	// not report Running yet.
	ReasonResuming = "Resuming"
	// ReasonStarting: desired Running, and some Vertex has not reported
	// Running yet (a new pipeline, a new vertex or a changed one).
	ReasonStarting = "Starting"
	// ReasonVertexNotReady: every Vertex reports Running but one says it is
	// not Ready.
	ReasonVertexNotReady = "VertexNotReady"
	// ReasonInvalidSpec: the spec breaks a rule the CRD cannot express
	// (cycles, reachability, dead-letter refs); terminal until it changes.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonFunctionNotFound: a function vertex names a Function that does
	// not exist; retried when it appears.
	ReasonFunctionNotFound = "FunctionNotFound"
	// ReasonDestinationNotResolved: a sink's ref names an object that does
	// not exist or has no address yet; retried every RetryInterval.
	ReasonDestinationNotResolved = "DestinationNotResolved"
	// ReasonVertexNotOwned: a Vertex of the name this pipeline needs exists
	// but another owner controls it.
	ReasonVertexNotOwned = "VertexNotOwned"
	// ReasonDraining: the pipeline is being deleted and waits for its
	// Vertices to pause.
	ReasonDraining = "Draining"
)

// Reasons of the Events recorded when a deleted Pipeline lets go of its
// finalizer, saying why.
const (
	// EventDrained: every Vertex reported Paused.
	EventDrained = "Drained"
	// EventDrainTimeout: the drain timeout passed first.
	EventDrainTimeout = "DrainTimeout"
	// EventForceDeleted: the force-delete annotation skipped the drain.
	EventForceDeleted = "ForceDeleted"
)

func markReady(st *v1alpha1.PipelineStatus, gen int64, ok bool, reason, msg string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
	})
}

func markNotReady(st *v1alpha1.PipelineStatus, gen int64, reason, msg string) {
	markReady(st, gen, false, reason, msg)
}

// markPhase records the phase and readiness the Vertices report.
func markPhase(st *v1alpha1.PipelineStatus, gen int64, s summary) {
	st.Phase = s.phase
	markReady(st, gen, s.ready, s.reason, s.message)
}
