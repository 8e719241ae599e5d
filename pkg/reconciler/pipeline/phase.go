package pipeline

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// summary is a pipeline's phase and Ready condition as its Vertices report
// them.
type summary struct {
	phase   v1alpha1.Phase
	ready   bool
	reason  string
	message string
}

// reportedPhase is the phase a Vertex reports for its current spec, or ""
// while its status does not yet reflect its latest generation: a Vertex
// just told to pause may still say Running from before.
func reportedPhase(v *v1alpha1.Vertex) v1alpha1.Phase {
	if v.Status.ObservedGeneration < v.Generation {
		return ""
	}
	return v.Status.Phase
}

// summarize derives a pipeline's phase from the desired phase, the phase it
// had before and what its Vertices (in pipeline order) report:
//
//   - desired Paused: Paused (Ready) once every Vertex reports Paused, else
//     Pausing (not Ready, reason Pausing, naming the Vertices still going).
//   - desired Running: Running (Ready) once every Vertex reports Running,
//     or not Ready with reason VertexNotReady if one of them says it is not
//     Ready. Until every Vertex reports Running the pipeline is not Ready,
//     reason Resuming if it was Paused or Pausing before or a Vertex still
//     reports Paused or Pausing, else Starting; its phase stays Paused while
//     resuming from Paused (it is Paused until its Vertices run), else it is
//     Running.
func summarize(desired, previous v1alpha1.Phase, vertices []*v1alpha1.Vertex) summary {
	if desired == "" {
		desired = v1alpha1.DefaultPhase
	}
	var behind []string
	paused := false
	for _, v := range vertices {
		got := reportedPhase(v)
		if got != desired {
			behind = append(behind, v.Name)
		}
		if got == v1alpha1.PhasePaused || got == v1alpha1.PhasePausing {
			paused = true
		}
	}
	if desired == v1alpha1.PhasePaused {
		if len(behind) == 0 {
			return summary{phase: v1alpha1.PhasePaused, ready: true, reason: ReasonPaused}
		}
		return summary{phase: v1alpha1.PhasePausing, reason: ReasonPausing,
			message: "waiting for " + vertexList(behind) + " to pause"}
	}
	if len(behind) > 0 {
		s := summary{phase: v1alpha1.PhaseRunning, reason: ReasonStarting,
			message: "waiting for " + vertexList(behind) + " to run"}
		if previous == v1alpha1.PhasePaused || previous == v1alpha1.PhasePausing || paused {
			s.reason = ReasonResuming
		}
		if previous == v1alpha1.PhasePaused {
			s.phase = v1alpha1.PhasePaused
		}
		return s
	}
	for _, v := range vertices {
		if c := meta.FindStatusCondition(v.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.Status == metav1.ConditionFalse {
			return summary{phase: v1alpha1.PhaseRunning, reason: ReasonVertexNotReady,
				message: fmt.Sprintf("Vertex %s is not Ready: %s: %s", v.Name, c.Reason, c.Message)}
		}
	}
	return summary{phase: v1alpha1.PhaseRunning, ready: true, reason: ReasonRunning}
}

// vertexList names Vertices in a message.
func vertexList(names []string) string {
	if len(names) == 1 {
		return "Vertex " + names[0]
	}
	return fmt.Sprintf("%d Vertices (%s)", len(names), strings.Join(names, ", "))
}
