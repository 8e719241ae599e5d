package vertex

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

var (
	now      = time.Date(2026, 5, 1, 12, 0, 30, 500_000_000, time.UTC)
	nowText  = "2026-05-01T12:00:30.5Z"
	earlier  = now.Add(-10 * time.Second)
	earlierT = earlier.Format(time.RFC3339Nano)
)

// vertexOf builds a defaulted vertex of the given kind (source, function
// with scale [0, 5], or sink) and applies the options.
func vertexOf(kind string, opts ...func(*v1alpha1.Vertex)) *v1alpha1.Vertex {
	v := &v1alpha1.Vertex{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews-score", Namespace: "ml"},
		Spec:       v1alpha1.VertexSpec{PipelineName: "reviews", Name: "score"},
	}
	switch kind {
	case "source":
		v.Spec.Source = &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}}
	case "function":
		v.Spec.Function = &v1alpha1.FunctionSpec{
			Container: v1alpha1.Container{Image: "ghcr.io/example/scorer:1"},
			Scale:     v1alpha1.Scale{Min: ptr.To[int32](0), Max: ptr.To[int32](5)},
		}
	case "sink":
		v.Spec.Sink = &v1alpha1.Sink{Log: &v1alpha1.LogSink{}}
	}
	for _, o := range opts {
		o(v)
	}
	v.SetDefaults()
	return v
}

func desired(p v1alpha1.Phase) func(*v1alpha1.Vertex) {
	return func(v *v1alpha1.Vertex) { v.Spec.Lifecycle.DesiredPhase = p }
}

func phase(p v1alpha1.Phase) func(*v1alpha1.Vertex) {
	return func(v *v1alpha1.Vertex) { v.Status.Phase = p }
}

func scaler(n int32) func(*v1alpha1.Vertex) {
	return func(v *v1alpha1.Vertex) { v.Spec.Replicas = &n }
}

func scaleMin(n int32) func(*v1alpha1.Vertex) {
	return func(v *v1alpha1.Vertex) { v.Spec.Function.Scale.Min = &n }
}

func scaleMax(n int32) func(*v1alpha1.Vertex) {
	return func(v *v1alpha1.Vertex) { v.Spec.Function.Scale.Max = &n }
}

func annotations(kv ...string) func(*v1alpha1.Vertex) {
	return func(v *v1alpha1.Vertex) {
		v.Annotations = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			v.Annotations[kv[i]] = kv[i+1]
		}
	}
}

func backlog(n int64, at time.Time) func(*v1alpha1.Vertex) {
	return func(v *v1alpha1.Vertex) {
		v.Status.Backlog, v.Status.BacklogTime = n, &metav1.Time{Time: at}
	}
}

// pausing is a vertex paused 10s ago that ran 3 replicas then.
var pausing = []func(*v1alpha1.Vertex){
	desired(v1alpha1.PhasePaused), phase(v1alpha1.PhasePausing),
	annotations(PausedAtAnnotation, earlierT, ResumeReplicasAnnotation, "3"),
}

func with(base []func(*v1alpha1.Vertex), more ...func(*v1alpha1.Vertex)) []func(*v1alpha1.Vertex) {
	return append(append([]func(*v1alpha1.Vertex){}, base...), more...)
}

func TestDecide(t *testing.T) {
	pausedAnn := map[string]string{PausedAtAnnotation: earlierT, ResumeReplicasAnnotation: "3"}
	cases := []struct {
		name       string
		vertex     *v1alpha1.Vertex
		deployment *int32
		want       Decision
	}{
		// Running.
		{name: "running, before the scaler decides: min",
			vertex: vertexOf("function", scaleMin(1)),
			want:   Decision{Phase: v1alpha1.PhaseRunning, Replicas: 1}},
		{name: "running: the scaler's decision",
			vertex: vertexOf("function", scaler(3)), deployment: ptr.To[int32](1),
			want: Decision{Phase: v1alpha1.PhaseRunning, Replicas: 3}},
		{name: "running: the scaler's decision above max is max",
			vertex: vertexOf("function", scaler(9)),
			want:   Decision{Phase: v1alpha1.PhaseRunning, Replicas: 5}},
		{name: "running: the scaler's decision below min is min",
			vertex: vertexOf("function", scaleMin(2), scaler(0)),
			want:   Decision{Phase: v1alpha1.PhaseRunning, Replicas: 2}},
		{name: "running: other annotations are kept",
			vertex: vertexOf("function", annotations("team", "ml")),
			want:   Decision{Phase: v1alpha1.PhaseRunning, Annotations: map[string]string{"team": "ml"}}},
		{name: "running source and sink have no replicas",
			vertex: vertexOf("source", scaler(3)),
			want:   Decision{Phase: v1alpha1.PhaseRunning}},

		// Pausing starts.
		{name: "pause a function: Pausing, replicas kept, pause recorded",
			vertex: vertexOf("function", scaler(3), desired(v1alpha1.PhasePaused), phase(v1alpha1.PhaseRunning)), deployment: ptr.To[int32](3),
			want: Decision{Phase: v1alpha1.PhasePausing, Replicas: 3, RequeueAfter: DrainPollInterval,
				Annotations: map[string]string{PausedAtAnnotation: nowText, ResumeReplicasAnnotation: "3"}}},
		{name: "pause a function: the live replicas are recorded, not the scaler's newer decision",
			vertex: vertexOf("function", scaler(1), desired(v1alpha1.PhasePaused)), deployment: ptr.To[int32](4),
			want: Decision{Phase: v1alpha1.PhasePausing, Replicas: 4, RequeueAfter: DrainPollInterval,
				Annotations: map[string]string{PausedAtAnnotation: nowText, ResumeReplicasAnnotation: "4"}}},
		{name: "pause a function with no Deployment yet: the computed replicas",
			vertex: vertexOf("function", scaleMin(1), desired(v1alpha1.PhasePaused)),
			want: Decision{Phase: v1alpha1.PhasePausing, Replicas: 1, RequeueAfter: DrainPollInterval,
				Annotations: map[string]string{PausedAtAnnotation: nowText, ResumeReplicasAnnotation: "1"}}},
		{name: "pause a sink: Pausing, only the start recorded",
			vertex: vertexOf("sink", desired(v1alpha1.PhasePaused), phase(v1alpha1.PhaseRunning)),
			want: Decision{Phase: v1alpha1.PhasePausing, RequeueAfter: DrainPollInterval,
				Annotations: map[string]string{PausedAtAnnotation: nowText}}},
		{name: "pause a source: Paused at once",
			vertex: vertexOf("source", desired(v1alpha1.PhasePaused), phase(v1alpha1.PhaseRunning), backlog(9, now)),
			want:   Decision{Phase: v1alpha1.PhasePaused}},
		{name: "an empty backlog seen before the pause does not count",
			vertex: vertexOf("sink", desired(v1alpha1.PhasePaused), backlog(0, earlier)),
			want: Decision{Phase: v1alpha1.PhasePausing, RequeueAfter: DrainPollInterval,
				Annotations: map[string]string{PausedAtAnnotation: nowText}}},
		{name: "a malformed pause start starts again",
			vertex: vertexOf("sink", desired(v1alpha1.PhasePaused), phase(v1alpha1.PhasePausing),
				annotations(PausedAtAnnotation, "yesterday"), backlog(0, earlier)),
			want: Decision{Phase: v1alpha1.PhasePausing, RequeueAfter: DrainPollInterval,
				Annotations: map[string]string{PausedAtAnnotation: nowText}}},

		// Draining.
		{name: "draining: the replicas of the pause start are kept",
			vertex: vertexOf("function", with(pausing, scaler(3), backlog(40, now))...), deployment: ptr.To[int32](3),
			want: Decision{Phase: v1alpha1.PhasePausing, Replicas: 3, RequeueAfter: DrainPollInterval, Annotations: pausedAnn}},
		{name: "draining: the scaler lowering replicas does not stop the drain",
			vertex: vertexOf("function", with(pausing, scaler(0), backlog(40, now))...), deployment: ptr.To[int32](3),
			want: Decision{Phase: v1alpha1.PhasePausing, Replicas: 3, RequeueAfter: DrainPollInterval, Annotations: pausedAnn}},
		{name: "draining: the scaler may add replicas to drain",
			vertex: vertexOf("function", with(pausing, scaler(5), backlog(40, now))...), deployment: ptr.To[int32](3),
			want: Decision{Phase: v1alpha1.PhasePausing, Replicas: 5, RequeueAfter: DrainPollInterval, Annotations: pausedAnn}},
		{name: "draining: an empty backlog seen at the pause start exactly does not count",
			vertex: vertexOf("function", with(pausing, scaler(3), backlog(0, earlier))...), deployment: ptr.To[int32](3),
			want: Decision{Phase: v1alpha1.PhasePausing, Replicas: 3, RequeueAfter: DrainPollInterval, Annotations: pausedAnn}},
		{name: "drained: Paused at zero, the pause record kept",
			vertex: vertexOf("function", with(pausing, scaler(3), backlog(0, now))...), deployment: ptr.To[int32](3),
			want: Decision{Phase: v1alpha1.PhasePaused, Annotations: pausedAnn}},
		{name: "drained sink: Paused",
			vertex: vertexOf("sink", desired(v1alpha1.PhasePaused), phase(v1alpha1.PhasePausing),
				annotations(PausedAtAnnotation, earlierT), backlog(0, now)),
			want: Decision{Phase: v1alpha1.PhasePaused, Annotations: map[string]string{PausedAtAnnotation: earlierT}}},
		{name: "paused stays paused as the backlog grows again",
			vertex: vertexOf("function", with(pausing, phase(v1alpha1.PhasePaused), scaler(3), backlog(70, now))...), deployment: ptr.To[int32](0),
			want: Decision{Phase: v1alpha1.PhasePaused, Annotations: pausedAnn}},

		// Resume.
		{name: "resume: the replicas of the pause start, written back to spec.replicas",
			vertex: vertexOf("function", with(pausing, phase(v1alpha1.PhasePaused), desired(v1alpha1.PhaseRunning), scaler(0))...), deployment: ptr.To[int32](0),
			want: Decision{Phase: v1alpha1.PhaseRunning, Replicas: 3, SpecReplicas: ptr.To[int32](3), Annotations: map[string]string{}}},
		{name: "resume: the scaler's decision when it is higher",
			vertex: vertexOf("function", with(pausing, phase(v1alpha1.PhasePaused), desired(v1alpha1.PhaseRunning), scaler(4))...), deployment: ptr.To[int32](0),
			want: Decision{Phase: v1alpha1.PhaseRunning, Replicas: 4, Annotations: map[string]string{}}},
		{name: "resume: within a max lowered during the pause",
			vertex: vertexOf("function", with(pausing, phase(v1alpha1.PhasePaused), desired(v1alpha1.PhaseRunning), scaleMax(2))...), deployment: ptr.To[int32](0),
			want: Decision{Phase: v1alpha1.PhaseRunning, Replicas: 2, SpecReplicas: ptr.To[int32](2), Annotations: map[string]string{}}},
		{name: "resume without the pause record: the computed replicas",
			vertex: vertexOf("function", phase(v1alpha1.PhasePaused), scaleMin(1)), deployment: ptr.To[int32](0),
			want: Decision{Phase: v1alpha1.PhaseRunning, Replicas: 1}},
		{name: "resume while still pausing",
			vertex: vertexOf("function", with(pausing, desired(v1alpha1.PhaseRunning), scaler(3), backlog(40, now))...), deployment: ptr.To[int32](3),
			want: Decision{Phase: v1alpha1.PhaseRunning, Replicas: 3, Annotations: map[string]string{}}},
		{name: "resume a sink",
			vertex: vertexOf("sink", phase(v1alpha1.PhasePaused), annotations(PausedAtAnnotation, earlierT, "team", "ml")),
			want:   Decision{Phase: v1alpha1.PhaseRunning, Annotations: map[string]string{"team": "ml"}}},
		{name: "resume a source",
			vertex: vertexOf("source", phase(v1alpha1.PhasePaused)),
			want:   Decision{Phase: v1alpha1.PhaseRunning}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.vertex.DeepCopy()
			got := Decide(tc.vertex, tc.deployment, now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(in, tc.vertex); diff != "" {
				t.Errorf("Decide modified its input (-before +after):\n%s", diff)
			}
		})
	}
}
