package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/internal/poll"
	"github.com/freshetproj/freshet/pkg/cloudevent"
)

// newNamespace creates a namespace for one test and deletes it afterwards.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(ns) > 50 {
		ns = ns[:50]
	}
	ns = strings.Trim(ns, "-")
	if out, err := kubectlOut("create", "namespace", ns); err != nil {
		t.Fatalf("kubectl create namespace %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := kubectlOut("-n", ns, "get", "fn,pl,vtx,deploy", "-o", "yaml")
			t.Logf("objects of %s:\n%s", ns, out)
			t.Logf("pods of %s:\n%s", ns, podReport(ns))
			t.Logf("freshet-system:\n%s", podReport("freshet-system"))
		}
		_, _ = kubectlOut("delete", "namespace", ns, "--wait=false")
	})
	return ns
}

// apply runs kubectl apply -f on manifest in namespace ns.
func apply(t *testing.T, ns, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectlOut("-n", ns, "apply", "-f", path); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// kubectl runs kubectl and fails t on error.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectlOut(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// pods lists the Pods of namespace ns.
func pods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := env.client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// deploymentReplicas sums spec.replicas over the Deployments of ns.
func deploymentReplicas(t *testing.T, ns string) int {
	t.Helper()
	var list appsv1.DeploymentList
	if err := env.client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range list.Items {
		if d.Spec.Replicas != nil {
			n += int(*d.Spec.Replicas)
		}
	}
	return n
}

// atZero waits until every Deployment of ns is scaled to 0 and its Pods
// are gone.
func atZero(t *testing.T, ns string, within time.Duration) {
	t.Helper()
	poll.True(t, within, "the functions of "+ns+" to return to zero with no Pod left", func() bool {
		return deploymentReplicas(t, ns) == 0 && len(pods(t, ns)) == 0
	})
}

const sentiment = `apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: sentiment
spec:
  container:
    image: ` + classifyImage + `
  scale:
    min: 0
    max: 2
    idleTimeout: 10s
    activationTimeout: 2m
`

// TestScaleToZeroInferenceEndpoint: a Function with min 0 is Ready at 0
// replicas with its URL; an invocation wakes it (a Pod is created,
// scheduled to the process node, started and Ready) and is answered 200;
// after the idle time the Deployment returns to 0 and the Pod is gone.
func TestScaleToZeroInferenceEndpoint(t *testing.T) {
	ns := newNamespace(t)
	apply(t, ns, sentiment)
	wantURL := fmt.Sprintf("%s/functions/%s/sentiment", env.activator, ns)

	poll.True(t, time.Minute, "kubectl get fn to show sentiment Ready at 0 replicas with its URL", func() bool {
		out, _ := kubectlOut("-n", ns, "get", "fn", "sentiment", "--no-headers")
		f := strings.Fields(out)
		// NAME READY REPLICAS BACKLOG URL AGE
		return len(f) >= 5 && f[1] == "True" && f[2] == "0" && strings.Contains(out, wantURL)
	})
	if n := len(pods(t, ns)); n != 0 {
		t.Fatalf("%d Pods at min 0 before any request", n)
	}

	start := time.Now()
	status, body, ceType := invoke(t, wantURL, "cold-1", `{"length": 20}`)
	cold := time.Since(start)
	if status != http.StatusOK {
		t.Fatalf("cold invocation: status %d: %s", status, body)
	}
	if ceType != "dev.freshet.sample.long" {
		t.Errorf("reply type %q, want dev.freshet.sample.long (body %s)", ceType, body)
	}
	ps := pods(t, ns)
	if len(ps) != 1 || ps[0].Spec.NodeName != nodeName || !strings.HasPrefix(ps[0].Status.PodIP, "127.") {
		t.Fatalf("after the first request, want one Pod on %s with a loopback IP; got %s", nodeName, describe(ps))
	}
	if readyPods(t, ns) != 1 {
		t.Fatalf("the Pod that answered is not Ready: %s", describe(ps))
	}
	start = time.Now()
	if status, body, _ := invoke(t, wantURL, "warm-1", `{"length": 3}`); status != http.StatusOK {
		t.Fatalf("warm invocation: status %d: %s", status, body)
	}
	warm := time.Since(start)
	t.Logf("FIGURE cold start through a new Pod (first request → reply): %v; warm request: %v",
		cold.Round(time.Millisecond), warm.Round(time.Millisecond))

	atZero(t, ns, 2*time.Minute)
	out := kubectl(t, "-n", ns, "get", "fn", "sentiment", "-o", "jsonpath={.status.replicas}")
	if r, _ := strconv.Atoi(strings.TrimSpace(out)); r != 0 {
		t.Errorf("status.replicas = %q after returning to zero", out)
	}
}

// invoke calls a Function synchronously with a binary-mode CloudEvent.
func invoke(t *testing.T, url, id, data string) (status int, body, ceType string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req, err := cloudevent.NewRequest(ctx, url, &cloudevent.Event{
		SpecVersion: "1.0", ID: id, Source: "/e2e/kube", Type: "dev.freshet.e2e.text",
		DataContentType: "application/json", Data: []byte(data),
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Ce-Type")
}

func describe(ps []corev1.Pod) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "[%s node=%q ip=%q phase=%s] ", p.Name, p.Spec.NodeName, p.Status.PodIP, p.Status.Phase)
	}
	return b.String()
}

// TestInvalidFunctionRejected: kubectl apply of a Function with an invalid
// spec fails, and the API server's message names the field.
func TestInvalidFunctionRejected(t *testing.T) {
	ns := newNamespace(t)
	bad := `apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: bad
spec:
  container:
    image: ` + noopImage + `
    port: 70000
`
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := kubectlOut("-n", ns, "apply", "-f", path)
	if err == nil {
		t.Fatalf("kubectl apply accepted port 70000:\n%s", out)
	}
	if !strings.Contains(out, "spec.container.port") {
		t.Errorf("the error does not name spec.container.port:\n%s", out)
	}
	if _, err := kubectlOut("-n", ns, "get", "fn", "bad"); err == nil {
		t.Error("the invalid Function was stored")
	}
}
