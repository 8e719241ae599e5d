package v1alpha1

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func i32(v int32) *int32 { return &v }

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// defaultedSpec is the spec of a function that declared only a command.
func defaultedSpec() FunctionSpec {
	return FunctionSpec{
		Container: Container{Command: []string{"./fn"}, Port: 8080, HealthPath: "/healthz"},
		Scale: Scale{
			Min: i32(0), Max: i32(10), TargetBacklog: i32(10),
			ContainerConcurrency: i32(8), IdleTimeout: dur(30 * time.Second),
			ScaleDownWindow: dur(30 * time.Second), ActivationTimeout: dur(time.Minute), MaxWaiting: i32(1000),
		},
		Delivery: defaultedDelivery(),
	}
}

func defaultedDelivery() Delivery {
	return Delivery{
		Retry: i32(3), BackoffPolicy: BackoffExponential,
		BackoffDelay: dur(200 * time.Millisecond), Timeout: dur(30 * time.Second),
	}
}

func TestFunctionSetDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Function
		want Function
	}{{
		name: "everything unset",
		in:   Function{ObjectMeta: metav1.ObjectMeta{Name: "f"}, Spec: FunctionSpec{Container: Container{Command: []string{"./fn"}}}},
		want: Function{ObjectMeta: metav1.ObjectMeta{Name: "f", Namespace: "default"}, Spec: defaultedSpec()},
	}, {
		name: "set values are kept",
		in: Function{
			ObjectMeta: metav1.ObjectMeta{Name: "f", Namespace: "ml"},
			Spec: FunctionSpec{
				Container: Container{Command: []string{"./fn"}, Port: 9000, HealthPath: "/ready"},
				Scale: Scale{Min: i32(1), Max: i32(3), TargetBacklog: i32(5), ContainerConcurrency: i32(1), IdleTimeout: dur(time.Second),
					TargetSeconds: dur(2 * time.Second), ScaleDownWindow: dur(0), ActivationTimeout: dur(time.Second), MaxWaiting: i32(1)},
				Delivery: Delivery{Retry: i32(0), BackoffPolicy: BackoffLinear, BackoffDelay: dur(time.Second), Timeout: dur(time.Minute)},
				Batch:    &Batch{MaxSize: 32, MaxWait: dur(0)},
			},
		},
		want: Function{
			ObjectMeta: metav1.ObjectMeta{Name: "f", Namespace: "ml"},
			Spec: FunctionSpec{
				Container: Container{Command: []string{"./fn"}, Port: 9000, HealthPath: "/ready"},
				Scale: Scale{Min: i32(1), Max: i32(3), TargetBacklog: i32(5), ContainerConcurrency: i32(1), IdleTimeout: dur(time.Second),
					TargetSeconds: dur(2 * time.Second), ScaleDownWindow: dur(0), ActivationTimeout: dur(time.Second), MaxWaiting: i32(1)},
				Delivery: Delivery{Retry: i32(0), BackoffPolicy: BackoffLinear, BackoffDelay: dur(time.Second), Timeout: dur(time.Minute)},
				Batch:    &Batch{MaxSize: 32, MaxWait: dur(0)},
			},
		},
	}, {
		name: "batch wait",
		in:   Function{ObjectMeta: metav1.ObjectMeta{Name: "f"}, Spec: FunctionSpec{Container: Container{Command: []string{"./fn"}}, Batch: &Batch{MaxSize: 8}}},
		want: func() Function {
			f := Function{ObjectMeta: metav1.ObjectMeta{Name: "f", Namespace: "default"}, Spec: defaultedSpec()}
			f.Spec.Batch = &Batch{MaxSize: 8, MaxWait: dur(10 * time.Millisecond)}
			return f
		}(),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.DeepCopy()
			got.SetDefaults()
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("SetDefaults (-want +got):\n%s", diff)
			}
			again := got.DeepCopy()
			again.SetDefaults()
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("SetDefaults is not idempotent (-first +second):\n%s", diff)
			}
		})
	}
}

func TestPipelineSetDefaults(t *testing.T) {
	dlq := &Destination{URI: "http://dlq"}
	in := Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: PipelineSpec{Vertices: []PipelineVertex{
			{Name: "in", Source: &Source{HTTP: &HTTPSource{}}},
			{Name: "fn", Function: &FunctionVertex{Spec: &FunctionSpec{Container: Container{Command: []string{"./fn"}}}}},
			{Name: "ref", Function: &FunctionVertex{Ref: &LocalObjectReference{Name: "f"}}},
			{Name: "out", Sink: &Sink{Log: &LogSink{}}},
			{Name: "web", Sink: &Sink{HTTP: &Destination{URI: "http://x"}, Delivery: &Delivery{Retry: i32(7), DeadLetterSink: dlq}}},
		}},
	}
	spec := defaultedSpec()
	webDelivery := defaultedDelivery()
	webDelivery.Retry, webDelivery.DeadLetterSink = i32(7), dlq
	logDelivery := defaultedDelivery()
	want := Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: PipelineSpec{
			Vertices: []PipelineVertex{
				{Name: "in", Source: &Source{HTTP: &HTTPSource{}}},
				{Name: "fn", Function: &FunctionVertex{Spec: &spec}},
				{Name: "ref", Function: &FunctionVertex{Ref: &LocalObjectReference{Name: "f"}}},
				{Name: "out", Sink: &Sink{Log: &LogSink{}, Delivery: &logDelivery}},
				{Name: "web", Sink: &Sink{HTTP: &Destination{URI: "http://x"}, Delivery: &webDelivery}},
			},
			Lifecycle: Lifecycle{DesiredPhase: PhaseRunning},
		},
	}
	in.SetDefaults()
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("SetDefaults (-want +got):\n%s", diff)
	}

	paused := Pipeline{Spec: PipelineSpec{Lifecycle: Lifecycle{DesiredPhase: PhasePaused}}}
	paused.SetDefaults()
	if paused.Spec.Lifecycle.DesiredPhase != PhasePaused {
		t.Errorf("DesiredPhase = %q, want Paused kept", paused.Spec.Lifecycle.DesiredPhase)
	}
}

func TestVertexSetDefaults(t *testing.T) {
	v := Vertex{Spec: VertexSpec{
		Function: &FunctionSpec{Container: Container{Command: []string{"./fn"}}},
		Sink:     &Sink{Log: &LogSink{}},
	}}
	v.SetDefaults()
	spec, delivery := defaultedSpec(), defaultedDelivery()
	want := Vertex{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default"},
		Spec: VertexSpec{
			Function:  &spec,
			Sink:      &Sink{Log: &LogSink{}, Delivery: &delivery},
			Lifecycle: Lifecycle{DesiredPhase: PhaseRunning},
		},
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("SetDefaults (-want +got):\n%s", diff)
	}
}
