package kubernetes

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/workload"
	"github.com/freshetproj/freshet/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }

// markerUser provisions a user bound in ns to a Role made from the
// +kubebuilder:rbac markers of endpoints.go and scaler.go, and returns its
// REST config, so the tests prove those markers suffice.
func markerUser(t *testing.T, env *envtest.Env, ns string) *rest.Config {
	t.Helper()
	rules := append(envtest.RBACMarkers(t, "endpoints.go"), envtest.RBACMarkers(t, "scaler.go")...)
	return env.UserWithRules(t, ns, "activator-"+ns, rules)
}

// fakeRouter records every SetEndpoints call.
type fakeRouter struct {
	mu    sync.Mutex
	calls map[string][][]string
}

func (r *fakeRouter) SetEndpoints(fn string, urls []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string][][]string{}
	}
	r.calls[fn] = append(r.calls[fn], slices.Clone(urls))
}

// last returns fn's latest endpoints, and whether it was ever set.
func (r *fakeRouter) last(fn string) ([]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[fn]
	if len(c) == 0 {
		return nil, false
	}
	return c[len(c)-1], true
}

func (r *fakeRouter) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var k []string
	for fn := range r.calls {
		k = append(k, fn)
	}
	slices.Sort(k)
	return k
}

// podMaker makes the pods of one function as its Deployment would: the
// pod template of workload.MakeDeployment under a name of its own.
func podMaker(ns, fn string, port int32) func(name string) *corev1.Pod {
	spec := &v1alpha1.FunctionSpec{Container: v1alpha1.Container{Image: "ghcr.io/example/" + fn + ":1", Port: port}}
	spec.SetDefaults()
	tmpl := workload.MakeDeployment(workload.Workload{
		Name: fn, Namespace: ns, Spec: spec, Replicas: 1,
		Owner: metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "unused", UID: "0"},
	}).Spec.Template
	return func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: maps.Clone(tmpl.Labels)},
			Spec:       *tmpl.Spec.DeepCopy(),
		}
	}
}

// setStatus writes a pod's status, as the kubelet would, through the
// status subresource: Running at ip, Ready or not.
func setStatus(t *testing.T, env *envtest.Env, p *corev1.Pod, ip string, ready bool) {
	t.Helper()
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	p.Status = corev1.PodStatus{
		Phase:  corev1.PodRunning,
		PodIP:  ip,
		PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: cond},
		},
	}
	if err := env.Client.Status().Update(context.Background(), p); err != nil {
		t.Fatalf("status of pod %s: %v", p.Name, err)
	}
}

// TestEndpointsFollowPods: the Router sees exactly the ready pods of a
// function, not being deleted, at their loopback Pod IPs (which the API
// server takes in a Pod but would refuse in an EndpointSlice), follows
// changes, empties when the pods are gone, keys each function by its
// Service name, and never hears of pods that are not a function's.
func TestEndpointsFollowPods(t *testing.T) {
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	cfg := markerUser(t, env, ns)
	router := &fakeRouter{}
	env.RunManager(t, cfg, func(mgr ctrl.Manager) error {
		return (&Endpoints{Client: mgr.GetClient(), Router: router}).SetupWithManager(mgr, "")
	}, func(o *ctrl.Options) {
		o.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}, ByObject: CacheByObject()}
	})
	want := func(what, key string, urls ...string) {
		t.Helper()
		envtest.Eventually(t, what, func() (bool, string) {
			got, ok := router.last(key)
			return ok && slices.Equal(got, urls) && got != nil, fmt.Sprintf("router has %q for %s (set: %v), want %q", got, key, ok, urls)
		})
	}
	create := func(p *corev1.Pod) *corev1.Pod {
		t.Helper()
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	del := func(p *corev1.Pod) {
		t.Helper()
		if err := env.Client.Delete(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	scorer := podMaker(ns, "scorer", 8080)
	key := ns + "/scorer"
	a := scorer("scorer-a")
	// The finalizer keeps a deleted pod, with its deletionTimestamp, as a
	// kubelet does while the pod stops.
	a.Finalizers = []string{"freshet.dev/test"}
	a, b, c, pending := create(a), create(scorer("scorer-b")), create(scorer("scorer-c")), create(scorer("scorer-d"))
	setStatus(t, env, a, "127.0.1.1", true)
	setStatus(t, env, b, "127.0.1.2", true)
	setStatus(t, env, c, "127.0.1.3", false)
	want("the ready pods", key, "http://127.0.1.1:8080", "http://127.0.1.2:8080")

	setStatus(t, env, b, "127.0.1.2", false)
	setStatus(t, env, c, "127.0.1.3", true)
	want("readiness changes", key, "http://127.0.1.1:8080", "http://127.0.1.3:8080")

	del(a)
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(a), a); err != nil || a.DeletionTimestamp == nil {
		t.Fatalf("pod %s after delete: %v, deletionTimestamp %v; want it kept, being deleted", a.Name, err, a.DeletionTimestamp)
	}
	want("a pod being deleted drained", key, "http://127.0.1.3:8080")
	a.Finalizers = nil
	if err := env.Client.Update(ctx, a); err != nil {
		t.Fatal(err)
	}

	for _, p := range []*corev1.Pod{b, c, pending} {
		del(p)
	}
	want("no pods left", key)

	// Pods that are no function's: one unlabelled, one with the function
	// label but not the component label workload sets. And another
	// function, on another port: its own key.
	other := create(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: map[string]string{"app": "web"}},
		Spec:       *a.Spec.DeepCopy(),
	})
	stray := create(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: ns, Labels: map[string]string{workload.FunctionLabelKey: "scorer"}},
		Spec:       *a.Spec.DeepCopy(),
	})
	ranker := create(podMaker(ns, "ranker", 9000)("ranker-a"))
	setStatus(t, env, other, "127.0.2.1", true)
	setStatus(t, env, stray, "127.0.2.2", true)
	setStatus(t, env, ranker, "127.0.3.1", true)
	want("another function", ns+"/ranker", "http://127.0.3.1:9000")
	// A last scorer pod after them: once it shows, the others have been
	// seen by the informer too.
	e := create(scorer("scorer-e"))
	setStatus(t, env, e, "127.0.1.5", true)
	want("a new pod", key, "http://127.0.1.5:8080")
	if k, w := router.keys(), []string{ns + "/ranker", key}; !slices.Equal(k, w) {
		t.Errorf("router heard of %q, want only %q", k, w)
	}
}

// TestScaler: SetReplicas writes spec.replicas of a Function and of a
// Vertex through the scale subresource; Status reads them back with
// status.readyReplicas.
func TestScaler(t *testing.T) {
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	c, err := client.New(markerUser(t, env, ns), client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	s := &Scaler{Client: c}
	spec := func() *v1alpha1.FunctionSpec {
		return &v1alpha1.FunctionSpec{
			Container: v1alpha1.Container{Image: "ghcr.io/example/scorer:1"},
			Scale:     v1alpha1.Scale{Min: ptr.To[int32](0), Max: ptr.To[int32](5)},
		}
	}
	fn := &v1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "scorer", Namespace: ns}, Spec: *spec()}
	// Same object name as the Function: the names must still tell them apart.
	v := &v1alpha1.Vertex{
		ObjectMeta: metav1.ObjectMeta{Name: "scorer", Namespace: ns},
		Spec: v1alpha1.VertexSpec{
			PipelineName: "reviews", Name: "score", Function: spec(),
			Edges: []v1alpha1.Edge{{From: "score", To: "out"}},
		},
	}
	for _, tc := range []struct {
		name   string
		obj    client.Object
		status func(desired, ready int32)
		spec   func() *int32
	}{
		{FunctionName(ns, fn.Name), fn,
			func(d, r int32) { fn.Status.Replicas, fn.Status.ReadyReplicas = d, r },
			func() *int32 { return fn.Spec.Replicas }},
		{VertexName(ns, v.Name), v,
			func(d, r int32) { v.Status.Replicas, v.Status.ReadyReplicas = d, r },
			func() *int32 { return v.Spec.Replicas }},
	} {
		t.Run(fmt.Sprintf("%T", tc.obj), func(t *testing.T) {
			if err := env.Client.Create(ctx, tc.obj); err != nil {
				t.Fatal(err)
			}
			if d, r := s.Status(tc.name); d != 0 || r != 0 {
				t.Errorf("new object: Status = %d, %d; want 0, 0", d, r)
			}
			tc.status(2, 1) // as the controller would report a Deployment of 2, 1 ready
			if err := env.Client.Status().Update(ctx, tc.obj); err != nil {
				t.Fatal(err)
			}
			if d, r := s.Status(tc.name); d != 2 || r != 1 {
				t.Errorf("spec.replicas unset: Status = %d, %d; want status.replicas 2, ready 1", d, r)
			}
			gen := tc.obj.GetGeneration()
			for _, n := range []int{3, 0} {
				if err := s.SetReplicas(tc.name, n); err != nil {
					t.Fatal(err)
				}
				if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tc.obj), tc.obj); err != nil {
					t.Fatal(err)
				}
				if got := tc.spec(); got == nil || int(*got) != n {
					t.Errorf("after SetReplicas(%d): spec.replicas = %v", n, got)
				}
				if d, r := s.Status(tc.name); d != n || r != 1 {
					t.Errorf("after SetReplicas(%d): Status = %d, %d; want %d, 1", n, d, r, n)
				}
			}
			if tc.obj.GetGeneration() == gen {
				t.Errorf("generation unchanged at %d: spec not written", gen)
			}
		})
	}

	// The marker user may patch only the scale subresource, so a write to
	// the spec itself would have failed: check that it does.
	fn.Spec.Replicas = ptr.To[int32](4)
	if err := c.Update(ctx, fn); err == nil {
		t.Error("the scaler's user could update a Function's spec; the RBAC markers grant too much")
	}
	if err := s.SetReplicas(FunctionName(ns, "missing"), 1); err == nil {
		t.Error("SetReplicas of a missing Function: no error")
	}
	if _, _, err := s.StatusContext(ctx, VertexName(ns, "missing")); err == nil {
		t.Error("StatusContext of a missing Vertex: no error")
	}
	if err := s.SetReplicas("no-namespace", 1); err == nil {
		t.Error("SetReplicas of a bad name: no error")
	}
	if err := s.SetReplicas(FunctionName(ns, fn.Name), -1); err == nil {
		t.Error("SetReplicas(-1): no error")
	}
}
