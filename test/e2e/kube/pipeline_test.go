package kube

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/internal/poll"
	freshetv1alpha1 "github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/test/internal/traffic"
)

const events = 5_000

// pipeline is http → enrich (Go) → classify (Python) → an HTTP sink at
// sinkURL, both functions scaling from min (0 or more) and back after 10s
// idle.
func pipeline(sinkURL string, min int) string {
	return fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: enrich
spec:
  container:
    image: %[1]s
  scale: {min: %[4]d, max: 2, containerConcurrency: 32, idleTimeout: 10s}
  delivery: {retry: 10, backoffPolicy: exponential, backoffDelay: 50ms}
---
apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: e2e
spec:
  vertices:
    - name: in
      source: {http: {}}
    - name: enrich
      function: {ref: {name: enrich}}
    - name: classify
      function:
        spec:
          container:
            image: %[2]s
          scale: {min: %[4]d, max: 2, containerConcurrency: 16, idleTimeout: 10s}
          delivery: {retry: 10, backoffPolicy: exponential, backoffDelay: 50ms}
    - name: out
      sink:
        http: {uri: %[3]q}
        delivery: {retry: 10, backoffPolicy: exponential, backoffDelay: 50ms}
  edges:
    - {from: in, to: enrich}
    - {from: enrich, to: classify}
    - {from: classify, to: out}
`, enrichImage, classifyImage, sinkURL, min)
}

// running applies the pipeline in ns and waits until it is Running.
func running(t *testing.T, ns, manifest string) {
	t.Helper()
	apply(t, ns, manifest)
	poll.True(t, 2*time.Minute, "pipeline e2e to be Running and Ready", func() bool {
		out, _ := kubectlOut("-n", ns, "get", "pl", "e2e", "-o",
			`jsonpath={.status.phase}/{.status.conditions[?(@.type=="Ready")].status}`)
		return out == "Running/True"
	})
}

// peakReplicas records the highest total of Deployment replicas in ns
// until the returned func is called, which returns it.
func peakReplicas(t *testing.T, ns string) func() int {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if n := int64(deploymentReplicas(t, ns)); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond): // sampling interval
			}
		}
	}()
	return func() int {
		close(done)
		wg.Wait()
		return int(peak.Load())
	}
}

// TestPipelineFromZero: 5,000 events into a pipeline whose two functions
// are at zero arrive at the sink as exactly 5,000 distinct ids; the
// functions scale up from zero and back.
func TestPipelineFromZero(t *testing.T) {
	ns := newNamespace(t)
	sk := traffic.NewSink(t)
	running(t, ns, pipeline(sk.Srv.URL, 0))
	if n := deploymentReplicas(t, ns); n != 0 || len(pods(t, ns)) != 0 {
		t.Fatalf("%d replicas and %d Pods before any event, want none", n, len(pods(t, ns)))
	}
	peak := peakReplicas(t, ns)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := traffic.NewSender(fmt.Sprintf("%s/pipelines/%s/e2e/in", env.activator, ns))
	start := time.Now()
	if err := s.SendAll(ctx, events, 32); err != nil {
		t.Fatal(err)
	}
	sk.WaitDistinct(t, events, 5*time.Minute)
	elapsed := time.Since(start)
	dups := sk.CheckExactly(t, traffic.Expected(events))
	if p := peak(); p < 2 {
		t.Errorf("peak replicas %d: both functions should have scaled up from zero", p)
	}
	t.Logf("FIGURE pipeline throughput from zero: %d events in %v (%.0f events/s, including two cold starts), %d duplicates",
		events, elapsed.Round(time.Millisecond), float64(events)/elapsed.Seconds(), dups)
	atZero(t, ns, 3*time.Minute)
}

// TestPipelinePauseResume: pausing the pipeline while events flow takes it
// through Pausing to Paused, its source refuses events (the sender
// retries), resuming brings it back to Running, and nothing is lost.
func TestPipelinePauseResume(t *testing.T) {
	ns := newNamespace(t)
	sk := traffic.NewSink(t)
	running(t, ns, pipeline(sk.Srv.URL, 1))
	phases := watchPhases(t, ns)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := traffic.NewSender(fmt.Sprintf("%s/pipelines/%s/e2e/in", env.activator, ns))
	sent := make(chan error, 1)
	go func() { sent <- s.SendAll(ctx, events, 32) }()

	poll.True(t, 3*time.Minute, "1,000 events accepted", func() bool { return s.Accepted.Load() >= 1000 })
	kubectl(t, "-n", ns, "patch", "pl", "e2e", "--type=merge", "-p", `{"spec":{"lifecycle":{"desiredPhase":"Paused"}}}`)
	poll.True(t, 3*time.Minute, "pipeline e2e to be Paused", func() bool {
		return slices.Contains(phases(), freshetv1alpha1.PhasePaused)
	})
	pausedAt := s.Accepted.Load()
	delivered, _ := sk.Counts()
	t.Logf("paused after %d accepted events, %d delivered", pausedAt, delivered)

	kubectl(t, "-n", ns, "patch", "pl", "e2e", "--type=merge", "-p", `{"spec":{"lifecycle":{"desiredPhase":"Running"}}}`)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	sk.WaitDistinct(t, events, 5*time.Minute)
	dups := sk.CheckExactly(t, traffic.Expected(events))

	got := slices.Compact(phases())
	want := []freshetv1alpha1.Phase{freshetv1alpha1.PhaseRunning, freshetv1alpha1.PhasePausing, freshetv1alpha1.PhasePaused, freshetv1alpha1.PhaseRunning}
	if !containsInOrder(got, want) {
		t.Errorf("phases %v, want %v in that order", got, want)
	}
	t.Logf("phases %v; all %d events arrived, %d duplicates", got, events, dups)
}

// containsInOrder reports whether want is a subsequence of got.
func containsInOrder[T comparable](got, want []T) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// watchPhases records every status.phase of pipeline e2e in ns, from now
// on, in order; the returned func reads them.
func watchPhases(t *testing.T, ns string) func() []freshetv1alpha1.Phase {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := env.client.Watch(ctx, &freshetv1alpha1.PipelineList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []freshetv1alpha1.Phase
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*freshetv1alpha1.Pipeline)
			if !ok || ev.Type == watch.Deleted || p.Name != "e2e" {
				continue
			}
			mu.Lock()
			seen = append(seen, p.Status.Phase)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		w.Stop()
		cancel()
		<-done
	})
	return func() []freshetv1alpha1.Phase {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// TestFunctionPodDeleted: force-deleting a function's Pod mid-stream, as a
// node failure would (no grace: its processes are killed at once), loses
// no event; a new Pod takes over.
func TestFunctionPodDeleted(t *testing.T) {
	ns := newNamespace(t)
	sk := traffic.NewSink(t)
	running(t, ns, pipeline(sk.Srv.URL, 1))
	poll.True(t, 2*time.Minute, "both functions to have a Ready Pod", func() bool {
		return readyPods(t, ns) == 2
	})

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := traffic.NewSender(fmt.Sprintf("%s/pipelines/%s/e2e/in", env.activator, ns))
	sent := make(chan error, 1)
	go func() { sent <- s.SendAll(ctx, events, 32) }()

	poll.True(t, 3*time.Minute, "1,500 events delivered", func() bool {
		d, _ := sk.Counts()
		return d >= 1500
	})
	ps := pods(t, ns)
	if len(ps) == 0 {
		t.Fatal("no function Pod to delete")
	}
	victim := ps[0].Name
	kubectl(t, "-n", ns, "delete", "pod", victim, "--grace-period=0", "--force")
	delivered, _ := sk.Counts()
	t.Logf("force-deleted Pod %s after %d delivered", victim, delivered)

	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	sk.WaitDistinct(t, events, 5*time.Minute)
	dups := sk.CheckExactly(t, traffic.Expected(events))
	for _, p := range pods(t, ns) {
		if p.Name == victim {
			t.Errorf("Pod %s still exists", victim)
		}
	}
	t.Logf("all %d events arrived after the Pod was deleted, %d duplicates", events, dups)
}

// readyPods counts the Pods of ns that are Ready.
func readyPods(t *testing.T, ns string) int {
	n := 0
	for _, p := range pods(t, ns) {
		for _, c := range p.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" && p.DeletionTimestamp == nil {
				n++
			}
		}
	}
	return n
}
