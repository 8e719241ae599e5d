package node_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/freshetproj/freshet/internal/poll"
	"github.com/freshetproj/freshet/test/envtest"
	"github.com/freshetproj/freshet/test/internal/child"
	"github.com/freshetproj/freshet/test/processnode/internal/nodetest"
	"github.com/freshetproj/freshet/test/processnode/node"
	"github.com/freshetproj/freshet/test/processnode/podrun"
)

func TestMain(m *testing.M) { nodetest.Main(m, nodetest.EchoPackage) }

// testNode is a process node running in this test binary, with what a test
// of it needs: a client, a namespace of the test's own and a context that
// ends with the test.
type testNode struct {
	name   string
	client kubernetes.Interface
	ns     string
	ctx    context.Context // ends with the test, or after 2 minutes
	stop   func() error    // stops the node, returns Run's error
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
		Images:               map[string]podrun.Image{nodetest.EchoImage: {Entrypoint: []string{nodetest.Bin("echoserver")}}},
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
	testCtx, testCancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(testCancel)
	return &testNode{name: name, client: client, ns: env.Namespace(t), ctx: testCtx, stop: stop}
}

// create creates pod in the test's namespace.
func (n *testNode) create(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if _, err := n.client.CoreV1().Pods(n.ns).Create(n.ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// runEcho creates nodetest.EchoPod called name on the node and returns it
// once it is Running and Ready.
func (n *testNode) runEcho(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	n.create(t, nodetest.EchoPod(n.ns, name, n.name))
	return n.waitReady(t, name)
}

func (n *testNode) waitReady(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	return nodetest.WaitPodReady(t, n.ctx, n.client, n.ns, name)
}

// deletePod deletes the pod called name (gracefully) and waits until it is
// gone from the API server: the node has stopped it and said so.
func (n *testNode) deletePod(t *testing.T, name string, within time.Duration) {
	t.Helper()
	if err := n.client.CoreV1().Pods(n.ns).Delete(n.ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, within, "pod "+name+" deleted from the API server", func() string {
		p, err := n.client.CoreV1().Pods(n.ns).Get(n.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ""
		}
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("still there: deletionTimestamp %v, phase %s", p.DeletionTimestamp, p.Status.Phase)
	})
}

// echoPid asks the pod's echo server, at its pod IP, for its pid (checking
// that it knows its own name and IP).
func echoPid(t *testing.T, pod *corev1.Pod) int {
	t.Helper()
	return nodetest.AskEcho(t, pod, 8080).PID
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

	poll.Until(t, 60*time.Second, "node Ready", func() string { return nodetest.NodeReady(n.ctx, n.client, n.name) })
	nd, err := n.client.CoreV1().Nodes().Get(n.ctx, n.name, metav1.GetOptions{})
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
	poll.Until(t, 30*time.Second, "node lease renewed", func() string {
		l, err := n.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(n.ctx, n.name, metav1.GetOptions{})
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

	// Both listen on :8080, each in its own network namespace; both are
	// created before either is waited for, so that they start together.
	for _, name := range []string{"a", "b"} {
		n.create(t, nodetest.EchoPod(n.ns, name, n.name))
	}
	a, b := n.waitReady(t, "a"), n.waitReady(t, "b")
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
	n.deletePod(t, "a", 40*time.Second)
	poll.Until(t, 10*time.Second, "pod a's process gone", func() string { return nodetest.ProcessGone(pidA) })
	if _, err := nodetest.Get("http://" + a.Status.PodIP + ":8080/"); err == nil {
		t.Errorf("deleted pod a still answers at %s", a.Status.PodIP)
	}
	if pid := echoPid(t, b); pid != pidB {
		t.Errorf("pod b's pid changed from %d to %d", pidB, pid)
	}
}

func TestKilledContainerRestarts(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pn-restart", "127.0.202.41-127.0.202.59")

	pod := n.runEcho(t, "r")
	pid := echoPid(t, pod)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "pod r restarted and Ready", func() string {
		p, err := n.client.CoreV1().Pods(n.ns).Get(n.ctx, "r", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		pod = p
		if len(p.Status.ContainerStatuses) != 1 {
			return fmt.Sprintf("container statuses %+v", p.Status.ContainerStatuses)
		}
		cs := p.Status.ContainerStatuses[0]
		if cs.RestartCount < 1 || !nodetest.PodReady(p) || cs.State.Running == nil {
			return fmt.Sprintf("restartCount %d ready %v state %+v", cs.RestartCount, nodetest.PodReady(p), cs.State)
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

	pod := nodetest.EchoPod(n.ns, "missing", n.name)
	pod.Spec.Containers[0].Image = "example.com/not-mapped:1"
	n.create(t, pod)
	poll.Until(t, 60*time.Second, "pod waiting with ErrImagePull", func() string {
		p, err := n.client.CoreV1().Pods(n.ns).Get(n.ctx, "missing", metav1.GetOptions{})
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
	n.deletePod(t, "missing", 40*time.Second)
}

func TestStoppingTheNodeStopsItsPods(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pn-stop", "127.0.202.81-127.0.202.99")

	pid := echoPid(t, n.runEcho(t, "s"))
	if err := n.stop(); err != nil {
		t.Fatalf("node.Run: %v", err)
	}
	// Run has returned: the process must already be gone (an exited child
	// reaped by podrun), not merely on its way out.
	if msg := nodetest.ProcessGone(pid); msg != "" {
		t.Error(msg)
	}
}

func TestHostNetworkPodUsesTheNodeIP(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pn-host", "127.0.202.101-127.0.202.119")

	ports, err := child.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := ports[0]
	n.create(t, nodetest.HostEchoPod(n.ns, "h", n.name, port))
	got := n.waitReady(t, "h")
	if got.Status.PodIP != "127.0.0.1" {
		t.Fatalf("hostNetwork pod's IP %q, want the node's 127.0.0.1", got.Status.PodIP)
	}
	// The server listens on the host's port, and knows its name and the
	// node's IP as its own.
	nodetest.AskEcho(t, got, port)
}

// A pod deleted and at once created again with the same name starts once
// its predecessor's processes are gone, rather than being taken for it.
func TestPodRecreatedWithTheSameNameStarts(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pn-recreate", "127.0.202.121-127.0.202.139")

	// The first one ignores SIGTERM, so it is still stopping (for the 2s
	// a force-deleted pod gets) when the second one arrives.
	first := nodetest.EchoPod(n.ns, "same", n.name)
	first.Spec.Containers[0].Env = append(first.Spec.Containers[0].Env, corev1.EnvVar{Name: "IGNORE_SIGTERM", Value: "1"})
	n.create(t, first)
	old := n.waitReady(t, "same")
	oldPid := echoPid(t, old)
	if err := n.client.CoreV1().Pods(n.ns).Delete(n.ctx, "same", *metav1.NewDeleteOptions(0)); err != nil {
		t.Fatal(err)
	}
	n.create(t, nodetest.EchoPod(n.ns, "same", n.name))

	var got *corev1.Pod
	poll.Until(t, 60*time.Second, "the new pod Ready", func() string {
		p, err := n.client.CoreV1().Pods(n.ns).Get(n.ctx, "same", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if p.UID == old.UID {
			return "still the old pod"
		}
		if !nodetest.PodReady(p) {
			return fmt.Sprintf("new pod not ready: phase %s, containers %+v", p.Status.Phase, p.Status.ContainerStatuses)
		}
		got = p
		return ""
	})
	if msg := nodetest.ProcessGone(oldPid); msg != "" {
		t.Errorf("the new pod runs, but its predecessor's %s", msg)
	}
	if pid := echoPid(t, got); pid == oldPid {
		t.Errorf("the new pod answers with the old pod's pid %d", pid)
	}
}
