package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
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

func endpoint(ip string, ready, terminating bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: ptr.To(ready || terminating), Terminating: &terminating},
	}
}

func endpointSlice(ns, name string, labels map[string]string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{
			Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP),
		}},
		Endpoints: eps,
	}
}

// TestEndpointsFollowSlices: the Router sees exactly the ready,
// non-terminating endpoints of all slices of a function Service, follows
// changes, empties when the slices are gone, and never hears of other
// Services' slices.
func TestEndpointsFollowSlices(t *testing.T) {
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

	// The Service as the reconcilers make it; its labels are what the
	// EndpointSlice controller would copy onto its slices.
	svc := workload.MakeService(workload.Workload{
		Name: "scorer", Namespace: ns,
		Owner: metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "unused", UID: "0"},
		Spec:  &v1alpha1.FunctionSpec{Container: v1alpha1.Container{Port: 8080}},
	})
	svc.OwnerReferences = nil
	if err := env.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	labels := func() map[string]string {
		l := map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: "test"}
		for k, v := range svc.Labels {
			l[k] = v
		}
		return l
	}
	key := ns + "/scorer"
	want := func(what string, urls ...string) {
		t.Helper()
		envtest.Eventually(t, what, func() (bool, string) {
			got, ok := router.last(key)
			return ok && slices.Equal(got, urls) && got != nil, fmt.Sprintf("router has %q (set: %v), want %q", got, ok, urls)
		})
	}

	a := endpointSlice(ns, "scorer-a", labels(),
		endpoint("10.0.0.2", true, false),
		endpoint("10.0.0.1", true, false),
		endpoint("10.0.0.3", false, false),
		endpoint("10.0.0.4", false, true))
	if err := env.Client.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	want("the ready endpoints of one slice", "http://10.0.0.1:8080", "http://10.0.0.2:8080")

	b := endpointSlice(ns, "scorer-b", labels(), endpoint("10.0.1.1", true, false), endpoint("10.0.0.1", true, false))
	if err := env.Client.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	want("both slices merged", "http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.1.1:8080")

	a.Endpoints[0] = endpoint("10.0.0.2", false, true) // starts terminating
	a.Endpoints[2] = endpoint("10.0.0.3", true, false) // becomes ready
	if err := env.Client.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	want("the change", "http://10.0.0.1:8080", "http://10.0.0.3:8080", "http://10.0.1.1:8080")

	if err := env.Client.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	want("one slice deleted", "http://10.0.0.1:8080", "http://10.0.0.3:8080")

	if err := env.Client.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	want("no slices left")

	// Slices of Services that are no Freshet function's, the one without
	// the function label and the one whose label names another Service,
	// reach no router.
	other := endpointSlice(ns, "web-a", map[string]string{discoveryv1.LabelServiceName: "web"}, endpoint("10.0.2.1", true, false))
	stray := endpointSlice(ns, "db-a", map[string]string{discoveryv1.LabelServiceName: "db", workload.FunctionLabelKey: "scorer"},
		endpoint("10.0.3.1", true, false))
	for _, s := range []*discoveryv1.EndpointSlice{other, stray} {
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// A last function slice after them: once it shows, the others have
	// been seen by the informer too.
	c := endpointSlice(ns, "scorer-c", labels(), endpoint("10.0.0.9", true, false))
	if err := env.Client.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	want("a new slice", "http://10.0.0.9:8080")
	if k := router.keys(); !slices.Equal(k, []string{key}) {
		t.Errorf("router heard of %q, want only %q", k, key)
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
