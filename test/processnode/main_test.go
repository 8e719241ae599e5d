package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/freshetproj/freshet/internal/poll"
	"github.com/freshetproj/freshet/test/envtest"
	"github.com/freshetproj/freshet/test/internal/child"
	"github.com/freshetproj/freshet/test/processnode/internal/nodetest"
	"github.com/freshetproj/freshet/test/processnode/podrun"
)

func TestMain(m *testing.M) {
	nodetest.Main(m, "github.com/freshetproj/freshet/test/processnode", nodetest.EchoPackage)
}

func TestParseFlags(t *testing.T) {
	env := map[string]string{"KUBECONFIG": "/env/kubeconfig"}
	c, err := parseFlags([]string{"--node-name=n1", "--pod-ips=127.0.9.1-127.0.9.9", "--log-level=debug", "--max-pods=5"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %s %s %s %v %d", c.kubeconfig, c.node.NodeName, c.node.NodeIP, c.node.PodIPs, c.logLevel, c.node.MaxPods)
	if want := "/env/kubeconfig n1 127.0.0.1 127.0.9.1-127.0.9.9 DEBUG 5"; got != want {
		t.Errorf("parsed %q, want %q", got, want)
	}

	for _, tc := range []struct {
		args []string
		env  string
		err  string
	}{
		{nil, "", "--kubeconfig (or $KUBECONFIG) is required"},
		{[]string{"--kubeconfig=k", "--pod-ips=10.0.0.1-10.0.0.2"}, "", "--pod-ips"},
		{[]string{"--kubeconfig=k", "extra"}, "", "unexpected arguments"},
		{[]string{"--log-level=loud"}, "k", "log-level"},
	} {
		_, err := parseFlags(tc.args, func(string) string { return tc.env }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("parseFlags(%q) error %v, want one containing %q", tc.args, err, tc.err)
		}
	}
	var help bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, func(string) string { return "" }, &help); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if !strings.Contains(help.String(), "TEST AND DEVELOPMENT INFRASTRUCTURE") || !strings.Contains(help.String(), "-images") {
		t.Errorf("usage text lacks the warning or the flags:\n%s", help.String())
	}
}

func TestReadImages(t *testing.T) {
	dir := t.TempDir()
	yamlFile := filepath.Join(dir, "images.yaml")
	if err := os.WriteFile(yamlFile, []byte("example.com/a:1:\n  entrypoint: [/bin/a]\n  cmd: [--x]\n  workingDir: /tmp\n  env: [A=1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readImages(yamlFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]podrun.Image{"example.com/a:1": {Entrypoint: []string{"/bin/a"}, Cmd: []string{"--x"}, WorkingDir: "/tmp", Env: []string{"A=1"}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	typo := filepath.Join(dir, "typo.json")
	if err := os.WriteFile(typo, []byte(`{"example.com/a:1": {"entrypiont": ["/bin/a"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readImages(typo); err == nil || !strings.Contains(err.Error(), "entrypiont") {
		t.Errorf("a misspelt field: error %v, want one naming it", err)
	}
}

// TestBinaryRunsAPod runs the built command against a real API server: the
// node registers, runs a pod that answers at its own IP, and on SIGTERM
// stops it and exits 0.
func TestBinaryRunsAPod(t *testing.T) {
	const nodeName = "pn-binary"
	ctx, client, ns, cmd, proc, logs := startBinary(t, nodeName, "127.0.202.201-127.0.202.220", "\n  env: [PORT=8080]")

	if _, err := client.CoreV1().Pods(ns).Create(ctx, nodetest.EchoPod(ns, "echo", nodeName), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The node registers and is Ready.
	poll.Until(t, 60*time.Second, "node Ready", func() string {
		if exited, err := proc.Exited(); exited {
			return fmt.Sprintf("processnode exited: %v", err)
		}
		return nodetest.NodeReady(ctx, client, nodeName)
	})

	// The pod runs and answers at its IP.
	pod := nodetest.WaitPodReady(t, ctx, client, ns, "echo")
	if !strings.HasPrefix(pod.Status.PodIP, "127.0.202.") {
		t.Fatalf("pod IP %q, want one of the node's --pod-ips", pod.Status.PodIP)
	}
	answer := nodetest.AskEcho(t, pod, 8080)
	if answer.Hostname != "echo" {
		t.Fatalf("pod answered %+v: want its hostname (echo)", answer)
	}

	// SIGTERM: a clean stop, taking the pod's process with it.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proc.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("processnode did not exit within 60s of SIGTERM")
	}
	if _, err := proc.Exited(); err != nil {
		t.Errorf("processnode exited with %v, want 0", err)
	}
	if err := syscall.Kill(answer.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the pod's process %d outlived the node: kill(0) = %v", answer.PID, err)
	}
	if !strings.Contains(logs.String(), "processnode stopped") {
		t.Errorf("no clean-stop message in the log")
	}
}

// TestKilledNodeTakesItsPodsWithIt SIGKILLs the command (as a test binary's
// timeout would): the pods' processes, in process groups of their own, must
// not outlive it, in a network namespace of their own or the host's.
func TestKilledNodeTakesItsPodsWithIt(t *testing.T) {
	const nodeName = "pn-killed"
	ctx, client, ns, cmd, proc, _ := startBinary(t, nodeName, "127.0.202.141-127.0.202.159", "")

	ports, err := child.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	host := nodetest.HostEchoPod(ns, "host", nodeName, ports[0])
	for _, pod := range []*corev1.Pod{nodetest.EchoPod(ns, "netns", nodeName), host} {
		if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var pids []int
	for _, p := range []struct {
		name string
		port int
	}{{"netns", 8080}, {"host", ports[0]}} {
		pod := nodetest.WaitPodReady(t, ctx, client, ns, p.name)
		pids = append(pids, nodetest.AskEcho(t, pod, p.port).PID)
	}

	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-proc.Done()
	for _, pid := range pids {
		poll.Until(t, 30*time.Second, fmt.Sprintf("pod process %d gone after the node was killed", pid), func() string {
			return nodetest.ProcessGone(pid)
		})
	}
}

// startBinary starts the built command as node nodeName against the
// shared API server, with the echo server as its one image (imageExtra is
// appended to the image's YAML entry) and Pod IPs from podIPs; it is killed
// when t ends, and its log shown if t failed.
func startBinary(t *testing.T, nodeName, podIPs, imageExtra string) (ctx context.Context, client kubernetes.Interface, ns string, cmd *exec.Cmd, proc *child.Process, logs *child.TailBuffer) {
	t.Helper()
	env := envtest.Shared(t)
	ns = env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	images := filepath.Join(dir, "images.yaml")
	if err := os.WriteFile(images, []byte(nodetest.EchoImage+":\n  entrypoint: ["+nodetest.Bin("echoserver")+"]"+imageExtra+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs = &child.TailBuffer{Max: 32 << 10}
	cmd = exec.Command(nodetest.Bin("processnode"),
		"--kubeconfig", env.Kubeconfig, "--node-name", nodeName, "--pod-ips", podIPs,
		"--dir", filepath.Join(dir, "state"), "--images", images, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logs, logs
	if proc, err = child.StartProcess(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proc.Kill()
		if t.Failed() {
			t.Logf("processnode log (tail):\n%s", logs.String())
		}
	})
	return ctx, client, ns, cmd, proc, logs
}
