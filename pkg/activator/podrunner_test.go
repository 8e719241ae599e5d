package activator

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/reconciler/workload"
	"github.com/freshetproj/freshet/pkg/runtime/local"
)

// podRunner stands in for what envtest lacks beside the API server — the
// ReplicaSet controller, the scheduler and the kubelet — for the function
// Deployments of one namespace: it runs as many local processes of each
// Deployment's container command as its spec.replicas asks (real
// processes, through the local runtime), publishes the ready ones as Pods
// and counts them in the Deployment's status. Issue 7's process node replaces it with
// the real controllers.
type podRunner struct {
	c  client.Client
	ns string
	rt *local.Runtime

	mu    sync.Mutex
	ready map[string][]string // Deployment name → ready replica URLs
	specs map[string]local.ProcessSpec
}

func startPodRunner(t *testing.T, c client.Client, ns string) *podRunner {
	t.Helper()
	p := &podRunner{c: c, ns: ns, ready: map[string][]string{}, specs: map[string]local.ProcessSpec{}}
	p.rt = local.New(local.Config{Router: p, Log: testWriter{t}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := p.sync(ctx); err != nil && ctx.Err() == nil {
					t.Logf("pod runner: %v", err)
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		stop, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancelStop()
		if err := p.rt.Close(stop); err != nil {
			t.Errorf("pod runner: stopping processes: %v", err)
		}
	})
	return p
}

// SetEndpoints is the local runtime telling which replicas are ready.
func (p *podRunner) SetEndpoints(name string, urls []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ready[name] = slices.Clone(urls)
}

// WaitIdle does not wait: the activator, not this stand-in, knows what is
// in flight, and the tests scale down only idle functions.
func (p *podRunner) WaitIdle(context.Context, string, string) error { return nil }

// sync brings processes, Pods and Deployment statuses to the
// Deployments' specs.
func (p *podRunner) sync(ctx context.Context) error {
	var deps appsv1.DeploymentList
	if err := p.c.List(ctx, &deps, client.InNamespace(p.ns), client.MatchingLabels{workload.ComponentLabelKey: "function"}); err != nil {
		return err
	}
	for i := range deps.Items {
		d := &deps.Items[i]
		if err := p.run(d); err != nil {
			return fmt.Errorf("deployment %s: %w", d.Name, err)
		}
		p.mu.Lock()
		urls := p.ready[d.Name]
		p.mu.Unlock()
		if err := p.publish(ctx, d, urls); err != nil {
			return fmt.Errorf("endpoints of %s: %w", d.Name, err)
		}
		if err := p.status(ctx, d, int32(len(urls))); err != nil {
			return fmt.Errorf("status of %s: %w", d.Name, err)
		}
	}
	return nil
}

func (p *podRunner) run(d *appsv1.Deployment) error {
	c := d.Spec.Template.Spec.Containers[0]
	spec := local.ProcessSpec{Command: c.Command, Args: c.Args, Grace: 5 * time.Second}
	for _, e := range c.Env {
		spec.Env = append(spec.Env, e.Name+"="+e.Value)
	}
	if pr := c.ReadinessProbe; pr != nil && pr.HTTPGet != nil {
		spec.HealthPath = pr.HTTPGet.Path
	}
	if old, ok := p.specs[d.Name]; !ok || !slices.Equal(old.Command, spec.Command) {
		if err := p.rt.Apply(d.Name, spec); err != nil {
			return err
		}
		p.specs[d.Name] = spec
	}
	return p.rt.SetReplicas(d.Name, int(ptr.Deref(d.Spec.Replicas, 1)))
}

// publish makes one Pod per ready replica, as the kubelet would report it:
// Running and Ready at Pod IP 127.0.0.1, the only network tests may use.
// Each replica listens on its own port, so each Pod's "http" container
// port is that replica's. The Pods carry the Deployment's pod labels, by
// which the activator finds them; they have no node, so the API server
// deletes them at once.
func (p *podRunner) publish(ctx context.Context, d *appsv1.Deployment, urls []string) error {
	want := map[string]int32{}
	for _, u := range urls {
		parsed, err := url.Parse(u)
		if err != nil {
			return err
		}
		port, err := strconv.Atoi(parsed.Port())
		if err != nil {
			return err
		}
		want[fmt.Sprintf("%s-%d", d.Name, port)] = int32(port)
	}
	var have corev1.PodList
	if err := p.c.List(ctx, &have, client.InNamespace(p.ns), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
		return err
	}
	for i := range have.Items {
		pod := &have.Items[i]
		if _, ok := want[pod.Name]; ok {
			delete(want, pod.Name)
			continue
		}
		if err := p.c.Delete(ctx, pod); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	for name, port := range want {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: name, Labels: d.Spec.Template.Labels},
			Spec:       *d.Spec.Template.Spec.DeepCopy(),
		}
		c := &pod.Spec.Containers[0]
		for i := range c.Ports {
			if c.Ports[i].Name == "http" {
				c.Ports[i].ContainerPort = port
			}
		}
		if err := p.c.Create(ctx, pod); err != nil {
			return err
		}
		pod.Status = corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      "127.0.0.1",
			PodIPs:     []corev1.PodIP{{IP: "127.0.0.1"}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		}
		if err := p.c.Status().Update(ctx, pod); err != nil {
			return err
		}
	}
	return nil
}

func (p *podRunner) status(ctx context.Context, d *appsv1.Deployment, ready int32) error {
	st := appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           ready,
		UpdatedReplicas:    ready,
		ReadyReplicas:      ready,
		AvailableReplicas:  ready,
		Conditions:         d.Status.Conditions,
	}
	if d.Status.ObservedGeneration == st.ObservedGeneration && d.Status.ReadyReplicas == ready && d.Status.Replicas == ready {
		return nil
	}
	d.Status = st
	return client.IgnoreNotFound(p.c.Status().Update(ctx, d))
}

// testWriter sends the functions' output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}
