package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
	"github.com/freshetproj/freshet/test/envtest"
)

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	envtest.Main(m)
}

// suite is one test's view of the shared API server, with the Pipeline
// reconciler running (and nothing else: the test plays the Vertex
// reconciler by writing Vertex status itself).
type suite struct {
	t   *testing.T
	ctx context.Context
	c   client.Client
	ns  string
}

func start(t *testing.T) *suite {
	t.Helper()
	env := envtest.Shared(t)
	return startAs(t, env, env.Config)
}

// startAs runs the reconciler with cfg's credentials.
func startAs(t *testing.T, env *envtest.Env, cfg *rest.Config) *suite {
	t.Helper()
	env.RunManager(t, cfg, func(mgr ctrl.Manager) error {
		return (&Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)
	})
	return &suite{t: t, ctx: context.Background(), c: env.Client, ns: env.Namespace(t)}
}

// eventually polls cond until it holds or 30 seconds pass.
func (s *suite) eventually(what string, cond func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	s.t.Fatalf("timed out waiting for %s: %s", what, last)
}

func (s *suite) create(obj client.Object) {
	s.t.Helper()
	obj.SetNamespace(s.ns)
	if err := s.c.Create(s.ctx, obj); err != nil {
		s.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// update changes the latest version of obj with change, retrying on
// conflicts (the reconciler writes too); status writes the status.
func (s *suite) update(obj client.Object, change func()) { s.t.Helper(); s.write(obj, change, false) }
func (s *suite) status(obj client.Object, change func()) { s.t.Helper(); s.write(obj, change, true) }

func (s *suite) write(obj client.Object, change func(), status bool) {
	s.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := s.c.Get(s.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change()
		if status {
			return s.c.Status().Update(s.ctx, obj)
		}
		return s.c.Update(s.ctx, obj)
	})
	if err != nil {
		s.t.Fatalf("updating %T %s: %v", obj, obj.GetName(), err)
	}
}

func (s *suite) pipeline(name string) *v1alpha1.Pipeline {
	s.t.Helper()
	var p v1alpha1.Pipeline
	if err := s.c.Get(s.ctx, client.ObjectKey{Namespace: s.ns, Name: name}, &p); err != nil {
		s.t.Fatalf("pipeline %s: %v", name, err)
	}
	return &p
}

// vertices lists the Vertices labelled as pipeline's, by pipeline vertex
// name.
func (s *suite) vertices(pipeline string) map[string]*v1alpha1.Vertex {
	s.t.Helper()
	var list v1alpha1.VertexList
	if err := s.c.List(s.ctx, &list, client.InNamespace(s.ns), client.MatchingLabels{resources.PipelineLabelKey: pipeline}); err != nil {
		s.t.Fatal(err)
	}
	out := make(map[string]*v1alpha1.Vertex, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].Spec.Name] = &list.Items[i]
	}
	return out
}

// waitVertices waits until pipeline's Vertices are exactly names and ok
// holds for each.
func (s *suite) waitVertices(pipeline string, what string, ok func(*v1alpha1.Vertex) bool, names ...string) map[string]*v1alpha1.Vertex {
	s.t.Helper()
	var vs map[string]*v1alpha1.Vertex
	s.eventually(what, func() (bool, string) {
		vs = s.vertices(pipeline)
		if len(vs) != len(names) {
			return false, fmt.Sprintf("%d vertices, want %d", len(vs), len(names))
		}
		for _, n := range names {
			v, found := vs[n]
			if !found {
				return false, "no vertex " + n
			}
			if !ok(v) {
				return false, fmt.Sprintf("vertex %s: %+v", n, v.Spec)
			}
		}
		return true, ""
	})
	return vs
}

// report plays the Vertex reconciler: every Vertex of pipeline named in
// names reports phase for its current generation.
func (s *suite) report(pipeline string, phase v1alpha1.Phase, names ...string) {
	s.t.Helper()
	for _, n := range names {
		v := &v1alpha1.Vertex{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: resources.VertexName(pipeline, n)}}
		s.status(v, func() { v.Status.Phase, v.Status.ObservedGeneration = phase, v.Generation })
	}
}

// waitReady waits for the pipeline's status to catch up with its spec with
// the given phase and Ready reason, and a Ready message containing each of
// messages; it returns the Ready condition.
func (s *suite) waitReady(name string, phase v1alpha1.Phase, reason string, messages ...string) *metav1.Condition {
	s.t.Helper()
	var ready *metav1.Condition
	s.eventually(fmt.Sprintf("pipeline %s %s/%s %q", name, phase, reason, messages), func() (bool, string) {
		p := s.pipeline(name)
		ready = meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
		got := fmt.Sprintf("generation %d observed %d phase %q %s", p.Generation, p.Status.ObservedGeneration, p.Status.Phase, condString(ready))
		if p.Status.ObservedGeneration != p.Generation || p.Status.Phase != phase || ready == nil || ready.Reason != reason {
			return false, got
		}
		for _, m := range messages {
			if !strings.Contains(ready.Message, m) {
				return false, got
			}
		}
		return true, ""
	})
	return ready
}

// waitGone waits for the pipeline to be deleted and returns the Event
// recorded about it with the given reason.
func (s *suite) waitGone(name, eventReason string) *eventsv1.Event {
	s.t.Helper()
	s.eventually("pipeline "+name+" to be gone", func() (bool, string) {
		var p v1alpha1.Pipeline
		err := s.c.Get(s.ctx, client.ObjectKey{Namespace: s.ns, Name: name}, &p)
		if err == nil {
			return false, fmt.Sprintf("finalizers %v, %s", p.Finalizers, condString(meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)))
		}
		return client.IgnoreNotFound(err) == nil, err.Error()
	})
	var found *eventsv1.Event
	s.eventually("a "+eventReason+" event", func() (bool, string) {
		var list eventsv1.EventList
		if err := s.c.List(s.ctx, &list, client.InNamespace(s.ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for i, e := range list.Items {
			if e.Regarding.Name == name && e.Reason == eventReason {
				found = &list.Items[i]
				return true, ""
			}
			seen = append(seen, e.Reason)
		}
		return false, fmt.Sprintf("events %v", seen)
	})
	return found
}

func condString(c *metav1.Condition) string {
	if c == nil {
		return "no Ready condition"
	}
	return fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
}

// Pipeline builders.

func newPipeline(name string, vertices []v1alpha1.PipelineVertex, edges ...v1alpha1.Edge) *v1alpha1.Pipeline {
	return &v1alpha1.Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.PipelineSpec{Vertices: vertices, Edges: edges},
	}
}

func source(name string) v1alpha1.PipelineVertex {
	return v1alpha1.PipelineVertex{Name: name, Source: &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}}}
}

func functionRef(name, function string) v1alpha1.PipelineVertex {
	return v1alpha1.PipelineVertex{Name: name, Function: &v1alpha1.FunctionVertex{Ref: &v1alpha1.LocalObjectReference{Name: function}}}
}

func inline(name, image string) v1alpha1.PipelineVertex {
	return v1alpha1.PipelineVertex{Name: name, Function: &v1alpha1.FunctionVertex{
		Spec: &v1alpha1.FunctionSpec{Container: v1alpha1.Container{Image: image}}}}
}

func logSink(name string) v1alpha1.PipelineVertex {
	return v1alpha1.PipelineVertex{Name: name, Sink: &v1alpha1.Sink{Log: &v1alpha1.LogSink{}}}
}

func httpSink(name string, d v1alpha1.Destination) v1alpha1.PipelineVertex {
	return v1alpha1.PipelineVertex{Name: name, Sink: &v1alpha1.Sink{HTTP: &d}}
}

func edge(from, to string) v1alpha1.Edge { return v1alpha1.Edge{From: from, To: to} }

func newFunction(name, image string) *v1alpha1.Function {
	return &v1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.FunctionSpec{Container: v1alpha1.Container{Image: image}},
	}
}
