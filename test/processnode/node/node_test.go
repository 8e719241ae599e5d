package node_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/freshetproj/freshet/test/envtest"
	"github.com/freshetproj/freshet/test/internal/child"
	"github.com/freshetproj/freshet/test/processnode/node"
	"github.com/freshetproj/freshet/test/processnode/podrun"
)

// echoBin is the echo server the test pods run, built once by TestMain.
var echoBin string

const echoImage = "example.com/echo:1"

func TestMain(m *testing.M) {
	// podrun starts containers by re-executing this binary as its shim.
	podrun.MaybeShim()
	dir, err := os.MkdirTemp("", "processnode-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echoBin = filepath.Join(dir, "echoserver")
	build := exec.Command("go", "build", "-o", echoBin, "github.com/freshetproj/freshet/test/processnode/internal/echoserver")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test echo server: %v\n%s", err, out)
		os.Exit(1)
	}
	code := envtest.RunMain(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// testNode is a process node running in this test binary.
type testNode struct {
	name   string
	client kubernetes.Interface
	stop   func() error // stops the node, returns Run's error
}

// startNode runs a process node called name against the shared API server,
// giving pods IPs from ips, until stop or the end of the test. Its log is
// shown if the test fails.
func startNode(t *testing.T, name, ips string) *testNode {
	t.Helper()
	env := envtest.Shared(t)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	r, err := node.ParseIPRange(ips)
	if err != nil {
		t.Fatal(err)
	}
	logs := &child.TailBuffer{Max: 32 << 10}
	opts := node.Options{
		Config:               env.Config,
		NodeName:             name,
		PodIPs:               r,
		Dir:                  t.TempDir(),
		Images:               map[string]podrun.Image{echoImage: {Entrypoint: []string{echoBin}}},
		RestartBackoff:       200 * time.Millisecond,
		MaxRestartBackoff:    time.Second,
		LeaseDurationSeconds: 8, // renewed every 2s
		ShutdownGrace:        2 * time.Second,
		Log:                  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx, opts) }()
	stopped, stopErr := false, error(nil)
	stop := func() error {
		if stopped {
			return stopErr
		}
		stopped = true
		cancel()
		select {
		case stopErr = <-done:
		case <-time.After(60 * time.Second):
			stopErr = errors.New("the node did not stop within 60s")
		}
		return stopErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("node %s: %v", name, err)
		}
		if t.Failed() {
			t.Logf("node %s log (tail):\n%s", name, logs.String())
		}
	})
	return &testNode{name: name, client: client, stop: stop}
}

// echoPod is a pod running the echo server on port 8080, ready when it
// answers /healthz.
func echoPod(namespace, name, nodeName string) *corev1.Pod {
	fieldEnv := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.PodSpec{
			NodeName:                      nodeName,
			TerminationGracePeriodSeconds: ptr.To[int64](60),
			Containers: []corev1.Container{{
				Name:  "echo",
				Image: echoImage,
				Env: []corev1.EnvVar{
					{Name: "PORT", Value: "8080"},
					fieldEnv("POD_NAME", "metadata.name"),
					fieldEnv("POD_IP", "status.podIP"),
				},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it returns "" (done) or timeout passes, then
// fails with cond's last answer.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, timeout, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitReady waits for the pod to be Running and Ready and returns it.
func waitReady(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, 60*time.Second, "pod "+name+" Running and Ready", func() string {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		pod = p
		if p.Status.Phase != corev1.PodRunning || !podReady(p) {
			return fmt.Sprintf("phase %s, conditions %+v, containers %+v", p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
		}
		return ""
	})
	return pod
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// get returns the body of GET url.
func get(url string) (string, error) {
	res, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, res.Status, body)
	}
	return string(body), err
}

// echoPid asks the pod's echo server, at its pod IP, for its pid, checking
// that it knows its own name and IP.
func echoPid(t *testing.T, pod *corev1.Pod) int {
	t.Helper()
	body, err := get("http://" + pod.Status.PodIP + ":8080/")
	if err != nil {
		t.Fatalf("pod %s at %s: %v", pod.Name, pod.Status.PodIP, err)
	}
	var name, ip, host string
	var pid int
	if _, err := fmt.Sscanf(body, "name=%s ip=%s hostname=%s pid=%d", &name, &ip, &host, &pid); err != nil {
		t.Fatalf("pod %s answered %q: %v", pod.Name, body, err)
	}
	if name != pod.Name || ip != pod.Status.PodIP {
		t.Errorf("pod %s at %s answered %q: want its own name and IP (from fieldRefs)", pod.Name, pod.Status.PodIP, body)
	}
	return pid
}

// processGone reports "" once pid no longer exists.
func processGone(pid int) string {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return ""
	}
	return fmt.Sprintf("process %d still exists", pid)
}

func inRange(t *testing.T, ip, ips string) bool {
	t.Helper()
	r, err := node.ParseIPRange(ips)
	if err != nil {
		t.Fatal(err)
	}
	a, err := netip.ParseAddr(ip)
	return err == nil && !a.Less(r.First) && !r.Last.Less(a)
}

func TestNodeRegistersReadyAndRenewsItsLease(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pn-lease", "127.0.202.1-127.0.202.19")
	ctx := testCtx(t)

	eventually(t, 60*time.Second, "node Ready", func() string {
		nd, err := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		for _, c := range nd.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return ""
			}
		}
		return fmt.Sprintf("conditions %+v", nd.Status.Conditions)
	})
	nd, err := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[corev1.NodeAddressType]string{}
	for _, a := range nd.Status.Addresses {
		addrs[a.Type] = a.Address
	}
	if addrs[corev1.NodeInternalIP] != "127.0.0.1" || addrs[corev1.NodeHostName] != n.name {
		t.Errorf("addresses %v, want InternalIP 127.0.0.1 and Hostname %s", nd.Status.Addresses, n.name)
	}
	if nd.Labels[node.LabelProcessNode] != "true" || nd.Labels[corev1.LabelHostname] != n.name || nd.Labels[corev1.LabelOSStable] != "linux" {
		t.Errorf("labels %v", nd.Labels)
	}
	if nd.Status.Allocatable.Pods().Value() != 110 || nd.Status.Capacity.Cpu().Value() < 1 || nd.Status.Capacity.Memory().Value() < 1<<20 {
		t.Errorf("capacity %v allocatable %v", nd.Status.Capacity, nd.Status.Allocatable)
	}
	// The API server taints every new node not-ready (admission plugin
	// TaintNodesByCondition) until a node-lifecycle controller, which
	// envtest lacks, sees it Ready; the node itself asks for no taint.
	for _, taint := range nd.Spec.Taints {
		if taint.Key != corev1.TaintNodeNotReady {
			t.Errorf("taint %v, want none but the API server's %s", taint, corev1.TaintNodeNotReady)
		}
	}

	var first time.Time
	eventually(t, 30*time.Second, "node lease renewed", func() string {
		l, err := n.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != n.name || l.Spec.RenewTime == nil {
			return fmt.Sprintf("lease spec %+v", l.Spec)
		}
		if first.IsZero() {
			first = l.Spec.RenewTime.Time
		}
		if !l.Spec.RenewTime.After(first) {
			return fmt.Sprintf("renew time still %v", first)
		}
		return ""
	})
}

func TestPodsAnswerAtTheirOwnIPsAndGoWhenDeleted(t *testing.T) {
	t.Parallel()
	const ips = "127.0.202.21-127.0.202.39"
	n := startNode(t, "pn-pods", ips)
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	ctx := testCtx(t)

	// Both listen on :8080, each in its own network namespace.
	for _, name := range []string{"a", "b"} {
		if _, err := n.client.CoreV1().Pods(ns).Create(ctx, echoPod(ns, name, n.name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	a := waitReady(t, ctx, n.client, ns, "a")
	b := waitReady(t, ctx, n.client, ns, "b")
	for _, p := range []*corev1.Pod{a, b} {
		if !inRange(t, p.Status.PodIP, ips) || p.Status.HostIP != "127.0.0.1" {
			t.Errorf("pod %s: podIP %q hostIP %q, want one of %s and 127.0.0.1", p.Name, p.Status.PodIP, p.Status.HostIP, ips)
		}
	}
	if a.Status.PodIP == b.Status.PodIP {
		t.Fatalf("both pods got IP %s", a.Status.PodIP)
	}
	pidA, pidB := echoPid(t, a), echoPid(t, b)
	if id := a.Status.ContainerStatuses[0].ContainerID; id != fmt.Sprintf("process://%d", pidA) {
		t.Errorf("pod a's containerID %q, want process://%d", id, pidA)
	}

	// A graceful delete: the process gets SIGTERM, exits, and the object
	// goes long before its 60s grace period is over.
	if err := n.client.CoreV1().Pods(ns).Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 40*time.Second, "pod a deleted from the API server", func() string {
		p, err := n.client.CoreV1().Pods(ns).Get(ctx, "a", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ""
		}
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("still there: deletionTimestamp %v, phase %s", p.DeletionTimestamp, p.Status.Phase)
	})
	eventually(t, 10*time.Second, "pod a's process gone", func() string { return processGone(pidA) })
	if _, err := get("http://" + a.Status.PodIP + ":8080/"); err == nil {
		t.Errorf("deleted pod a still answers at %s", a.Status.PodIP)
	}
	if pid := echoPid(t, b); pid != pidB {
		t.Errorf("pod b's pid changed from %d to %d", pidB, pid)
	}
}

func TestKilledContainerRestarts(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pn-restart", "127.0.202.41-127.0.202.59")
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	ctx := testCtx(t)

	if _, err := n.client.CoreV1().Pods(ns).Create(ctx, echoPod(ns, "r", n.name), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := waitReady(t, ctx, n.client, ns, "r")
	pid := echoPid(t, pod)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "pod r restarted and Ready", func() string {
		p, err := n.client.CoreV1().Pods(ns).Get(ctx, "r", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		pod = p
		if len(p.Status.ContainerStatuses) != 1 {
			return fmt.Sprintf("container statuses %+v", p.Status.ContainerStatuses)
		}
		cs := p.Status.ContainerStatuses[0]
		if cs.RestartCount < 1 || !podReady(p) || cs.State.Running == nil {
			return fmt.Sprintf("restartCount %d ready %v state %+v", cs.RestartCount, podReady(p), cs.State)
		}
		return ""
	})
	if last := pod.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.ExitCode != 137 {
		t.Errorf("last termination state %+v, want exit code 137 (SIGKILL)", last)
	}
	if again := echoPid(t, pod); again == pid {
		t.Errorf("pid %d unchanged after the kill", pid)
	}
}

func TestUnmappedImageIsErrImagePull(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pn-image", "127.0.202.61-127.0.202.79")
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	ctx := testCtx(t)

	pod := echoPod(ns, "missing", n.name)
	pod.Spec.Containers[0].Image = "example.com/not-mapped:1"
	if _, err := n.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "pod waiting with ErrImagePull", func() string {
		p, err := n.client.CoreV1().Pods(ns).Get(ctx, "missing", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if len(p.Status.ContainerStatuses) == 1 {
			if w := p.Status.ContainerStatuses[0].State.Waiting; w != nil && w.Reason == "ErrImagePull" {
				if p.Status.Phase != corev1.PodPending {
					return fmt.Sprintf("phase %s, want Pending", p.Status.Phase)
				}
				return ""
			}
		}
		return fmt.Sprintf("phase %s containers %+v", p.Status.Phase, p.Status.ContainerStatuses)
	})
	if err := n.client.CoreV1().Pods(ns).Delete(ctx, "missing", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 40*time.Second, "pod deleted from the API server", func() string {
		_, err := n.client.CoreV1().Pods(ns).Get(ctx, "missing", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ""
		}
		return fmt.Sprintf("get: %v", err)
	})
}

func TestStoppingTheNodeStopsItsPods(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pn-stop", "127.0.202.81-127.0.202.99")
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	ctx := testCtx(t)

	if _, err := n.client.CoreV1().Pods(ns).Create(ctx, echoPod(ns, "s", n.name), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pid := echoPid(t, waitReady(t, ctx, n.client, ns, "s"))
	if err := n.stop(); err != nil {
		t.Fatalf("node.Run: %v", err)
	}
	// Run has returned: the process must already be gone (an exited child
	// reaped by podrun), not merely on its way out.
	if msg := processGone(pid); msg != "" {
		t.Error(msg)
	}
}

func TestHostNetworkPodUsesTheNodeIP(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pn-host", "127.0.202.101-127.0.202.119")
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	ctx := testCtx(t)

	ports, err := child.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := ports[0]
	pod := echoPod(ns, "h", n.name)
	pod.Spec.HostNetwork = true
	c := &pod.Spec.Containers[0]
	c.Env[0].Value = fmt.Sprint(port)
	c.Ports[0].ContainerPort = int32(port)
	c.ReadinessProbe.HTTPGet.Port = intstr.FromInt(port)
	if _, err := n.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, ctx, n.client, ns, "h")
	if got.Status.PodIP != "127.0.0.1" {
		t.Fatalf("hostNetwork pod's IP %q, want the node's 127.0.0.1", got.Status.PodIP)
	}
	body, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil || !strings.HasPrefix(body, "name=h ip=127.0.0.1 ") {
		t.Errorf("GET on the host's port %d: %q, %v; want name=h ip=127.0.0.1", port, body, err)
	}
}
