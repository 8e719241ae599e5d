package v1alpha1

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// fieldErr is the part of a field.Error the tables assert on.
type fieldErr struct {
	Type  field.ErrorType
	Field string
}

func summarize(errs field.ErrorList) []fieldErr {
	var out []fieldErr
	for _, e := range errs {
		out = append(out, fieldErr{e.Type, e.Field})
	}
	return out
}

func required(f string) fieldErr     { return fieldErr{field.ErrorTypeRequired, f} }
func invalid(f string) fieldErr      { return fieldErr{field.ErrorTypeInvalid, f} }
func forbidden(f string) fieldErr    { return fieldErr{field.ErrorTypeForbidden, f} }
func notFound(f string) fieldErr     { return fieldErr{field.ErrorTypeNotFound, f} }
func notSupported(f string) fieldErr { return fieldErr{field.ErrorTypeNotSupported, f} }
func duplicate(f string) fieldErr    { return fieldErr{field.ErrorTypeDuplicate, f} }

func validFunction() *Function {
	return &Function{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec:       FunctionSpec{Container: Container{Command: []string{"./echo"}}},
	}
}

func TestFunctionValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(f *Function)
		want   []fieldErr
	}{
		{"valid", func(*Function) {}, nil},
		{"valid after defaults", func(f *Function) { f.SetDefaults() }, nil},
		{"image instead of command", func(f *Function) { f.Spec.Container = Container{Image: "ghcr.io/x/echo"} }, nil},
		{"name missing", func(f *Function) { f.Name = "" }, []fieldErr{required("metadata.name")}},
		{"name not a DNS label", func(f *Function) { f.Name = "Echo_1" }, []fieldErr{invalid("metadata.name")}},
		{"namespace not a DNS label", func(f *Function) { f.Namespace = "ML" }, []fieldErr{invalid("metadata.namespace")}},
		{"no image or command", func(f *Function) { f.Spec.Container.Command = nil }, []fieldErr{required("spec.container")}},
		{"port too big", func(f *Function) { f.Spec.Container.Port = 65536 }, []fieldErr{invalid("spec.container.port")}},
		{"port negative", func(f *Function) { f.Spec.Container.Port = -1 }, []fieldErr{invalid("spec.container.port")}},
		{"port bounds", func(f *Function) { f.Spec.Container.Port = 65535 }, nil},
		{"healthPath relative", func(f *Function) { f.Spec.Container.HealthPath = "healthz" }, []fieldErr{invalid("spec.container.healthPath")}},
		{"scale min negative", func(f *Function) { f.Spec.Scale.Min = i32(-1) }, []fieldErr{invalid("spec.scale.min")}},
		{"scale max zero", func(f *Function) { f.Spec.Scale.Max = i32(0) }, []fieldErr{invalid("spec.scale.max")}},
		{"scale min above max", func(f *Function) { f.Spec.Scale.Min, f.Spec.Scale.Max = i32(5), i32(2) }, []fieldErr{invalid("spec.scale.min")}},
		{"scale min above default max", func(f *Function) { f.Spec.Scale.Min = i32(11) }, []fieldErr{invalid("spec.scale.min")}},
		{"scale min equals max", func(f *Function) { f.Spec.Scale.Min, f.Spec.Scale.Max = i32(2), i32(2) }, nil},
		{"targetBacklog zero", func(f *Function) { f.Spec.Scale.TargetBacklog = i32(0) }, []fieldErr{invalid("spec.scale.targetBacklog")}},
		{"containerConcurrency zero", func(f *Function) { f.Spec.Scale.ContainerConcurrency = i32(0) }, []fieldErr{invalid("spec.scale.containerConcurrency")}},
		{"idleTimeout zero", func(f *Function) { f.Spec.Scale.IdleTimeout = dur(0) }, []fieldErr{invalid("spec.scale.idleTimeout")}},
		{"targetSeconds zero", func(f *Function) { f.Spec.Scale.TargetSeconds = dur(0) }, []fieldErr{invalid("spec.scale.targetSeconds")}},
		{"scaleDownWindow negative", func(f *Function) { f.Spec.Scale.ScaleDownWindow = dur(-time.Second) }, []fieldErr{invalid("spec.scale.scaleDownWindow")}},
		{"scaleDownWindow zero is allowed", func(f *Function) { f.Spec.Scale.ScaleDownWindow = dur(0) }, nil},
		{"activationTimeout zero", func(f *Function) { f.Spec.Scale.ActivationTimeout = dur(0) }, []fieldErr{invalid("spec.scale.activationTimeout")}},
		{"maxWaiting zero", func(f *Function) { f.Spec.Scale.MaxWaiting = i32(0) }, []fieldErr{invalid("spec.scale.maxWaiting")}},
		{"retry negative", func(f *Function) { f.Spec.Delivery.Retry = i32(-1) }, []fieldErr{invalid("spec.delivery.retry")}},
		{"retry above 100", func(f *Function) { f.Spec.Delivery.Retry = i32(101) }, []fieldErr{invalid("spec.delivery.retry")}},
		{"retry bounds", func(f *Function) { f.Spec.Delivery.Retry = i32(100) }, nil},
		{"retry zero", func(f *Function) { f.Spec.Delivery.Retry = i32(0) }, nil},
		{"backoffPolicy unknown", func(f *Function) { f.Spec.Delivery.BackoffPolicy = "random" }, []fieldErr{notSupported("spec.delivery.backoffPolicy")}},
		{"backoffPolicy linear", func(f *Function) { f.Spec.Delivery.BackoffPolicy = BackoffLinear }, nil},
		{"backoffDelay zero", func(f *Function) { f.Spec.Delivery.BackoffDelay = dur(0) }, []fieldErr{invalid("spec.delivery.backoffDelay")}},
		{"timeout negative", func(f *Function) { f.Spec.Delivery.Timeout = dur(-time.Second) }, []fieldErr{invalid("spec.delivery.timeout")}},
		{"deadLetterSink empty", func(f *Function) { f.Spec.Delivery.DeadLetterSink = &Destination{} }, []fieldErr{required("spec.delivery.deadLetterSink")}},
		{"deadLetterSink uri not http", func(f *Function) { f.Spec.Delivery.DeadLetterSink = &Destination{URI: "ftp://dlq/x"} }, []fieldErr{invalid("spec.delivery.deadLetterSink.uri")}},
		{"deadLetterSink uri relative", func(f *Function) { f.Spec.Delivery.DeadLetterSink = &Destination{URI: "/dlq"} }, []fieldErr{invalid("spec.delivery.deadLetterSink.uri")}},
		{"deadLetterSink uri", func(f *Function) { f.Spec.Delivery.DeadLetterSink = &Destination{URI: "https://dlq.example.com/x"} }, nil},
		{"deadLetterSink ref", func(f *Function) {
			f.Spec.Delivery.DeadLetterSink = &Destination{Ref: &KReference{Kind: "Broker", Name: "dlq"}, URI: "/path"}
		}, nil},
		{"deadLetterSink ref without kind and name", func(f *Function) { f.Spec.Delivery.DeadLetterSink = &Destination{Ref: &KReference{}} },
			[]fieldErr{required("spec.delivery.deadLetterSink.ref.kind"), required("spec.delivery.deadLetterSink.ref.name")}},
		{"batch maxSize zero", func(f *Function) { f.Spec.Batch = &Batch{} }, []fieldErr{invalid("spec.batch.maxSize")}},
		{"batch maxSize above 10000", func(f *Function) { f.Spec.Batch = &Batch{MaxSize: 10001} }, []fieldErr{invalid("spec.batch.maxSize")}},
		{"batch bounds", func(f *Function) { f.Spec.Batch = &Batch{MaxSize: 10000, MaxWait: dur(0)} }, nil},
		{"batch maxWait negative", func(f *Function) { f.Spec.Batch = &Batch{MaxSize: 1, MaxWait: dur(-time.Millisecond)} }, []fieldErr{invalid("spec.batch.maxWait")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := validFunction()
			tc.mutate(f)
			if diff := cmp.Diff(tc.want, summarize(f.Validate())); diff != "" {
				t.Errorf("Validate (-want +got):\n%s\nerrors: %v", diff, f.Validate())
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	f := validFunction()
	f.Spec.Scale.Min, f.Spec.Scale.Max = i32(5), i32(2)
	f.Spec.Container.Command = nil
	got := f.Validate().ToAggregate().Error()
	for _, want := range []string{
		"spec.container: Required value: image (Kubernetes) or command (freshet dev) is required",
		"spec.scale.min: Invalid value: 5: must not be greater than max (2)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q do not contain %q", got, want)
		}
	}
}

func TestIsAttributeName(t *testing.T) {
	for name, want := range map[string]bool{
		"type": true, "traceparent2": true, "0": true,
		"": false, "Type": false, "my-ext": false, "my_ext": false, "é": false,
	} {
		if got := IsAttributeName(name); got != want {
			t.Errorf("IsAttributeName(%q) = %v, want %v", name, got, want)
		}
	}
}
