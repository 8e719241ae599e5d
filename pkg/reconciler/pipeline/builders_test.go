package pipeline

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
)

// Small builders for the table tests.

const testUID types.UID = "pipeline-uid"

func testPipeline(opts ...func(*v1alpha1.Pipeline)) *v1alpha1.Pipeline {
	p := &v1alpha1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ml", UID: testUID}}
	for _, opt := range opts {
		opt(p)
	}
	return p
}

type vertexOption func(*v1alpha1.Vertex)

// testVertex is a Vertex "demo-<name>" of pipeline demo at generation 1,
// controlled by testUID.
func testVertex(name string, opts ...vertexOption) *v1alpha1.Vertex {
	yes := true
	v := &v1alpha1.Vertex{
		ObjectMeta: metav1.ObjectMeta{
			Name: "demo-" + name, Namespace: "ml", Generation: 1,
			Labels: map[string]string{resources.PipelineLabelKey: "demo", resources.VertexLabelKey: name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "freshet.dev/v1alpha1", Kind: "Pipeline", Name: "demo", UID: testUID, Controller: &yes,
			}},
		},
		Spec: v1alpha1.VertexSpec{PipelineName: "demo", Name: name, Sink: &v1alpha1.Sink{Log: &v1alpha1.LogSink{}}},
	}
	for _, opt := range opts {
		opt(v)
	}
	return v
}

// reporting: the Vertex reports phase for its current generation.
func reporting(phase v1alpha1.Phase) vertexOption {
	return func(v *v1alpha1.Vertex) { v.Status.Phase, v.Status.ObservedGeneration = phase, v.Generation }
}

// stale: the Vertex's spec changed after it last reported.
func stale(v *v1alpha1.Vertex) { v.Generation++ }

func notReady(reason string) vertexOption {
	return func(v *v1alpha1.Vertex) {
		v.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: "oops"}}
	}
}

func ownedBy(uid types.UID) vertexOption {
	return func(v *v1alpha1.Vertex) { v.OwnerReferences[0].UID = uid }
}

func withReplicas(n int32) vertexOption {
	return func(v *v1alpha1.Vertex) { v.Spec.Replicas = &n }
}

func withAnnotation(k, val string) vertexOption {
	return func(v *v1alpha1.Vertex) { v.Annotations = map[string]string{k: val} }
}

func withDesired(phase v1alpha1.Phase) vertexOption {
	return func(v *v1alpha1.Vertex) { v.Spec.Lifecycle.DesiredPhase = phase }
}

func terminating(v *v1alpha1.Vertex) {
	now := metav1.Now()
	v.DeletionTimestamp = &now
}

func vertices(vs ...*v1alpha1.Vertex) []*v1alpha1.Vertex { return vs }
