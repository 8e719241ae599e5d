package vertex

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
	"github.com/freshetproj/freshet/pkg/reconciler/workload"
	"github.com/freshetproj/freshet/test/envtest"
)

// fixture is one test's namespace on an API server with the reconciler
// running, and the calls that play the Pipeline reconciler (desired
// phase), the scaler (scale subresource) and the activator (backlog).
type fixture struct {
	t   *testing.T
	env *envtest.Env
	ctx context.Context
	ns  string
	// user is the reconciler's REST config: only what its RBAC markers grant.
	user *rest.Config
}

func setup(t *testing.T, env *envtest.Env) *fixture {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	f := &fixture{t: t, env: env, ctx: ctx, ns: env.Namespace(t)}
	f.user = startManager(t, env, f.ns)
	return f
}

// newVertex is a valid vertex "score" of pipeline "reviews": a function
// (scale [min, max]) with an edge to "out", a log sink, or an HTTP source.
func (f *fixture) newVertex(kind string, mod func(*v1alpha1.Vertex)) *v1alpha1.Vertex {
	v := &v1alpha1.Vertex{
		ObjectMeta: metav1.ObjectMeta{Name: resources.VertexName("reviews", "score"), Namespace: f.ns},
		Spec:       v1alpha1.VertexSpec{PipelineName: "reviews", Name: "score"},
	}
	edges := []v1alpha1.Edge{{From: "score", To: "out"}}
	switch kind {
	case "function":
		v.Spec.Function = &v1alpha1.FunctionSpec{
			Container: v1alpha1.Container{Image: "ghcr.io/example/scorer:1"},
			Scale:     v1alpha1.Scale{Min: ptr.To[int32](0), Max: ptr.To[int32](5)},
		}
		v.Spec.Edges = edges
	case "sink":
		v.Spec.Sink = &v1alpha1.Sink{Log: &v1alpha1.LogSink{}}
	case "source":
		v.Spec.Source = &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}}
		v.Spec.Edges = edges
	default:
		f.t.Fatalf("no vertex kind %q", kind)
	}
	if mod != nil {
		mod(v)
	}
	if err := f.env.Client.Create(f.ctx, v); err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *fixture) get(v *v1alpha1.Vertex) *v1alpha1.Vertex {
	f.t.Helper()
	var got v1alpha1.Vertex
	if err := f.env.Client.Get(f.ctx, client.ObjectKeyFromObject(v), &got); err != nil {
		f.t.Fatal(err)
	}
	return &got
}

// setDesired plays the Pipeline reconciler: it writes the desired phase.
func (f *fixture) setDesired(v *v1alpha1.Vertex, p v1alpha1.Phase) {
	f.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := f.get(v)
		got.Spec.Lifecycle.DesiredPhase = p
		return f.env.Client.Update(f.ctx, got)
	})
	if err != nil {
		f.t.Fatalf("set desired phase %s: %v", p, err)
	}
}

// scale plays the scaler: it writes replicas through the scale subresource.
func (f *fixture) scale(v *v1alpha1.Vertex, n int32) {
	f.t.Helper()
	s := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: v.Name, Namespace: v.Namespace},
		Spec:       autoscalingv1.ScaleSpec{Replicas: n},
	}
	if err := f.env.Client.SubResource("scale").Update(f.ctx, f.get(v), client.WithSubResourceBody(s)); err != nil {
		f.t.Fatalf("scale to %d: %v", n, err)
	}
}

// reportBacklog plays the activator: it writes the backlog it sees now.
// The reconciler writes the status too, so a conflict is retried, as the
// activator would.
func (f *fixture) reportBacklog(v *v1alpha1.Vertex, n int64) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := f.get(v)
		got.Status.Backlog, got.Status.BacklogTime = n, &metav1.Time{Time: time.Now()}
		return f.env.Client.Status().Update(f.ctx, got)
	})
}

// waitPhase waits for the phase, with status observed at the current
// generation.
func (f *fixture) waitPhase(v *v1alpha1.Vertex, p v1alpha1.Phase) *v1alpha1.Vertex {
	f.t.Helper()
	var got *v1alpha1.Vertex
	envtest.Eventually(f.t, "phase "+string(p), func() (bool, string) {
		got = f.get(v)
		return got.Status.Phase == p && got.Status.ObservedGeneration == got.Generation,
			fmt.Sprintf("phase %q, observed generation %d of %d", got.Status.Phase, got.Status.ObservedGeneration, got.Generation)
	})
	return got
}

// drain plays the activator reporting an empty buffer until the vertex is
// Paused. It reports again each poll: backlogTime has whole seconds, so a
// report in the second the pause began does not count, as with the real
// activator, which reports periodically.
func (f *fixture) drain(v *v1alpha1.Vertex) *v1alpha1.Vertex {
	f.t.Helper()
	var got *v1alpha1.Vertex
	envtest.Eventually(f.t, "Paused after the activator reports backlog 0", func() (bool, string) {
		if got = f.get(v); got.Status.Phase == v1alpha1.PhasePaused {
			return true, ""
		}
		if err := f.reportBacklog(v, 0); err != nil && !apierrors.IsConflict(err) {
			f.t.Fatal(err)
		}
		return false, "phase " + string(got.Status.Phase)
	})
	return got
}

// waitReplicas waits for the Deployment to have n replicas.
func (f *fixture) waitReplicas(v *v1alpha1.Vertex, n int32) *appsv1.Deployment {
	f.t.Helper()
	var dep appsv1.Deployment
	envtest.Eventually(f.t, fmt.Sprintf("the Deployment at %d replicas", n), func() (bool, string) {
		if err := f.env.Client.Get(f.ctx, client.ObjectKeyFromObject(v), &dep); err != nil {
			return false, err.Error()
		}
		return *dep.Spec.Replicas == n, fmt.Sprintf("%d replicas", *dep.Spec.Replicas)
	})
	return &dep
}

// settled waits until the reconciler has seen the vertex's current
// generation, and returns it.
func (f *fixture) settled(v *v1alpha1.Vertex) *v1alpha1.Vertex {
	f.t.Helper()
	var got *v1alpha1.Vertex
	envtest.Eventually(f.t, "the current generation observed", func() (bool, string) {
		got = f.get(v)
		return got.Status.ObservedGeneration == got.Generation, fmt.Sprintf("observed %d of %d", got.Status.ObservedGeneration, got.Generation)
	})
	return got
}

func (f *fixture) mustNotExist(obj client.Object) {
	f.t.Helper()
	if err := f.env.Client.Get(f.ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
		f.t.Errorf("%T %s: %v, want NotFound", obj, obj.GetName(), err)
	}
}

func ready(v *v1alpha1.Vertex) (bool, string) {
	c := meta.FindStatusCondition(v.Status.Conditions, v1alpha1.ConditionReady)
	if c == nil {
		return false, "no Ready condition"
	}
	return c.Status == metav1.ConditionTrue && c.ObservedGeneration == v.Generation,
		fmt.Sprintf("Ready %s %s %s (generation %d of %d)", c.Status, c.Reason, c.Message, c.ObservedGeneration, v.Generation)
}

// TestFunctionVertexBecomesWorkload: a function vertex gets a Deployment
// and a Service it controls, labelled with its pipeline and vertex, and a
// Running, Ready status; the scaler's replicas, written through the scale
// subresource, are honoured within [min, max].
func TestFunctionVertexBecomesWorkload(t *testing.T) {
	f := setup(t, envtest.Shared(t))
	v := f.newVertex("function", func(v *v1alpha1.Vertex) {
		v.Spec.Function.Scale = v1alpha1.Scale{Min: ptr.To[int32](1), Max: ptr.To[int32](4)}
	})
	dep := f.waitReplicas(v, 1)
	owner := f.get(v)
	// The reconciler applies the Service after the Deployment: wait for it.
	var svc corev1.Service
	envtest.Eventually(t, "the vertex's Service", func() (bool, string) {
		err := f.env.Client.Get(f.ctx, client.ObjectKeyFromObject(v), &svc)
		return err == nil, fmt.Sprint(err)
	})
	for _, obj := range []client.Object{dep, &svc} {
		if !metav1.IsControlledBy(obj, owner) {
			t.Errorf("%T owners %+v do not name the Vertex as controller", obj, obj.GetOwnerReferences())
		}
		l := obj.GetLabels()
		if l[resources.PipelineLabelKey] != "reviews" || l[resources.VertexLabelKey] != "score" {
			t.Errorf("%T labels %v lack the pipeline and vertex", obj, l)
		}
	}
	got := f.waitPhase(v, v1alpha1.PhaseRunning)
	envtest.Eventually(t, "Ready", func() (bool, string) { return ready(f.get(v)) })
	if got.Status.Selector != "freshet.dev/function=reviews-score" {
		t.Errorf("selector %q", got.Status.Selector)
	}

	f.scale(v, 3)
	f.waitReplicas(v, 3)
	f.scale(v, 9) // above max
	f.waitReplicas(v, 4)
	f.scale(v, 0) // below min
	f.waitReplicas(v, 1)
}

// TestPauseDrainResume: a paused function vertex keeps its replicas while
// its buffer drains, though the scaler lowers them; goes to zero once the
// activator reports an empty buffer; and gets them back on resume.
func TestPauseDrainResume(t *testing.T) {
	f := setup(t, envtest.Shared(t))
	v := f.newVertex("function", func(v *v1alpha1.Vertex) { v.Spec.Replicas = ptr.To[int32](3) })
	f.waitReplicas(v, 3)
	f.waitPhase(v, v1alpha1.PhaseRunning)

	before := time.Now()
	f.setDesired(v, v1alpha1.PhasePaused)
	got := f.waitPhase(v, v1alpha1.PhasePausing)
	at, err := time.Parse(time.RFC3339Nano, got.Annotations[PausedAtAnnotation])
	if err != nil || at.Before(before.Add(-time.Second)) || at.After(time.Now()) {
		t.Errorf("%s = %q (%v), want the time of the pause", PausedAtAnnotation, got.Annotations[PausedAtAnnotation], err)
	}
	if r := got.Annotations[ResumeReplicasAnnotation]; r != "3" {
		t.Errorf("%s = %q, want 3", ResumeReplicasAnnotation, r)
	}
	f.waitReplicas(v, 3)

	// The functions must keep working: an idle-looking vertex scaled down
	// by the scaler still drains, and a backlog keeps it Pausing.
	f.scale(v, 0)
	if err := f.reportBacklog(v, 40); err != nil {
		t.Fatal(err)
	}
	got = f.settled(v)
	if got.Status.Phase != v1alpha1.PhasePausing {
		t.Errorf("phase %s with a backlog of 40, want Pausing", got.Status.Phase)
	}
	f.waitReplicas(v, 3)

	f.drain(v)
	f.waitReplicas(v, 0)
	if ok, msg := ready(f.get(v)); !ok {
		t.Errorf("a paused vertex is not Ready: %s", msg)
	}

	f.setDesired(v, v1alpha1.PhaseRunning)
	got = f.waitPhase(v, v1alpha1.PhaseRunning)
	f.waitReplicas(v, 3)
	if _, ok := got.Annotations[PausedAtAnnotation]; ok {
		t.Errorf("annotations %v still record the pause", got.Annotations)
	}
	if _, ok := got.Annotations[ResumeReplicasAnnotation]; ok {
		t.Errorf("annotations %v still record the pause", got.Annotations)
	}
	if got.Spec.Replicas == nil || *got.Spec.Replicas != 3 {
		t.Errorf("spec.replicas %v after resume, want 3 restored for the scaler", got.Spec.Replicas)
	}
	// The restored count holds on the next passes too.
	f.settled(v)
	f.waitReplicas(v, 3)
}

// TestResumeWhilePausing: a vertex resumed before its buffer drained is
// Running again at once, with its replicas, and no record of the pause.
func TestResumeWhilePausing(t *testing.T) {
	f := setup(t, envtest.Shared(t))
	v := f.newVertex("function", func(v *v1alpha1.Vertex) { v.Spec.Replicas = ptr.To[int32](2) })
	f.waitReplicas(v, 2)
	f.setDesired(v, v1alpha1.PhasePaused)
	f.waitPhase(v, v1alpha1.PhasePausing)

	f.setDesired(v, v1alpha1.PhaseRunning)
	got := f.waitPhase(v, v1alpha1.PhaseRunning)
	if _, ok := got.Annotations[PausedAtAnnotation]; ok {
		t.Errorf("annotations %v still record the pause", got.Annotations)
	}
	f.waitReplicas(v, 2)

	// A later report of an empty buffer does not pause it.
	if err := f.reportBacklog(v, 0); err != nil {
		t.Fatal(err)
	}
	if got := f.settled(v); got.Status.Phase != v1alpha1.PhaseRunning {
		t.Errorf("phase %s after resume, want Running", got.Status.Phase)
	}
}

// TestSinkVertexPauses: a sink has no workload, but a status; paused, it
// drains its buffer like a function: Pausing, then Paused.
func TestSinkVertexPauses(t *testing.T) {
	f := setup(t, envtest.Shared(t))
	v := f.newVertex("sink", nil)
	f.waitPhase(v, v1alpha1.PhaseRunning)
	envtest.Eventually(t, "Ready", func() (bool, string) { return ready(f.get(v)) })

	f.setDesired(v, v1alpha1.PhasePaused)
	got := f.waitPhase(v, v1alpha1.PhasePausing)
	if _, ok := got.Annotations[PausedAtAnnotation]; !ok {
		t.Errorf("annotations %v lack %s", got.Annotations, PausedAtAnnotation)
	}
	if _, ok := got.Annotations[ResumeReplicasAnnotation]; ok {
		t.Errorf("a sink has no replicas to resume to, but annotations %v say so", got.Annotations)
	}
	f.drain(v)

	f.setDesired(v, v1alpha1.PhaseRunning)
	f.waitPhase(v, v1alpha1.PhaseRunning)
	f.mustNotExist(&appsv1.Deployment{ObjectMeta: v.ObjectMeta})
	f.mustNotExist(&corev1.Service{ObjectMeta: v.ObjectMeta})
}

// TestSourceVertexPausesAtOnce: the activator stops taking events for a
// paused source, so there is nothing to drain.
func TestSourceVertexPausesAtOnce(t *testing.T) {
	f := setup(t, envtest.Shared(t))
	v := f.newVertex("source", nil)
	f.waitPhase(v, v1alpha1.PhaseRunning)
	f.setDesired(v, v1alpha1.PhasePaused)
	got := f.waitPhase(v, v1alpha1.PhasePaused)
	if len(got.Annotations) != 0 {
		t.Errorf("annotations %v on a paused source", got.Annotations)
	}
	f.mustNotExist(&appsv1.Deployment{ObjectMeta: v.ObjectMeta})
}

// TestInvalidSpec: a vertex the CRD accepts but Validate rejects is not
// Ready, says why, and gets no workload.
func TestInvalidSpec(t *testing.T) {
	f := setup(t, envtest.Shared(t))
	v := f.newVertex("function", func(v *v1alpha1.Vertex) { v.Spec.Edges = nil })
	var c *metav1.Condition
	envtest.Eventually(t, "Ready=False InvalidSpec", func() (bool, string) {
		got := f.get(v)
		c = meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		return c != nil && c.Reason == workload.ReasonInvalidSpec && c.Status == metav1.ConditionFalse &&
			got.Status.ObservedGeneration == got.Generation, fmt.Sprintf("%+v", c)
	})
	if c.Message == "" {
		t.Error("InvalidSpec without a message")
	}
	f.mustNotExist(&appsv1.Deployment{ObjectMeta: v.ObjectMeta})
}

// TestReadsOnlyItsOwnObjects: the reconciler needs nothing on Pipelines or
// Functions. Its user may not read them (the Role is made from the RBAC
// markers), yet a function vertex naming both runs, pauses and resumes. A
// private API server enforces owner-reference permissions
// (OwnerReferencesPermissionEnforcement, on in OpenShift), which
// blockOwnerDeletion needs vertices/finalizers for.
func TestReadsOnlyItsOwnObjects(t *testing.T) {
	env, err := envtest.New(envtest.Options{APIServerArgs: map[string][]string{
		"enable-admission-plugins": {"OwnerReferencesPermissionEnforcement"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	f := setup(t, env)
	user, err := client.New(f.user, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range []client.ObjectList{&v1alpha1.PipelineList{}, &v1alpha1.FunctionList{}} {
		if err := user.List(f.ctx, list, client.InNamespace(f.ns)); !apierrors.IsForbidden(err) {
			t.Errorf("the reconciler's user lists %T: %v, want Forbidden", list, err)
		}
	}
	if err := user.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "scorer"}, &v1alpha1.Function{}); !apierrors.IsForbidden(err) {
		t.Errorf("the reconciler's user gets a Function: %v, want Forbidden", err)
	}

	v := f.newVertex("function", func(v *v1alpha1.Vertex) {
		v.Spec.FunctionName = "scorer" // a Function that does not exist
		v.Spec.Replicas = ptr.To[int32](2)
	})
	dep := f.waitReplicas(v, 2)
	if ref := metav1.GetControllerOf(dep); ref == nil || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("deployment controller reference %+v does not block owner deletion", ref)
	}
	envtest.Eventually(t, "Ready", func() (bool, string) { return ready(f.get(v)) })
	f.setDesired(v, v1alpha1.PhasePaused)
	f.waitPhase(v, v1alpha1.PhasePausing)
	f.drain(v)
	f.waitReplicas(v, 0)
	f.setDesired(v, v1alpha1.PhaseRunning)
	f.waitPhase(v, v1alpha1.PhaseRunning)
	f.waitReplicas(v, 2)
}
