package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// instance is one running freshet dev process.
type instance struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	stdout *lines
	stderr *lines
	exited chan struct{}
}

// lines collects a stream line by line.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) collect(r io.Reader, done func()) {
	defer done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.all = append(l.all, sc.Text())
		l.mu.Unlock()
	}
}

func (l *lines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startFreshet runs freshet dev on addr and dataDir and waits until it is
// ready.
func startFreshet(t *testing.T, addr, dataDir string, files ...string) *instance {
	t.Helper()
	return startFreshetWith(t, addr, dataDir, nil, files...)
}

// startFreshetWith is startFreshet with more flags for freshet dev.
func startFreshetWith(t *testing.T, addr, dataDir string, flags []string, files ...string) *instance {
	t.Helper()
	args := append([]string{"dev", "--addr", addr, "--data-dir", dataDir, "--grace", "10s"}, flags...)
	for _, f := range files {
		args = append(args, "-f", f)
	}
	cmd := exec.Command(bins.freshet, args...)
	cmd.Dir = bins.root
	in := &instance{t: t, cmd: cmd, base: "http://" + addr, stdout: &lines{}, stderr: &lines{}, exited: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start freshet dev: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go in.stdout.collect(stdout, wg.Done)
	go in.stderr.collect(stderr, wg.Done)
	go func() {
		wg.Wait()
		cmd.Wait()
		close(in.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-in.exited:
		default:
			cmd.Process.Kill()
			<-in.exited
		}
		if t.Failed() {
			t.Logf("freshet dev stderr (last 40 lines):\n%s", tail(in.stderr.snapshot(), 40))
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(in.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in
			}
		}
		select {
		case <-in.exited:
			t.Fatalf("freshet dev exited before it was ready:\n%s", tail(in.stderr.snapshot(), 40))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("freshet dev not ready after 2m:\n%s", tail(in.stderr.snapshot(), 40))
		}
	}
}

func tail(ls []string, n int) string {
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// kill9 kills the process with SIGKILL and waits for it to exit.
func (in *instance) kill9() {
	in.t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		in.t.Fatalf("kill -9: %v", err)
	}
	<-in.exited
}

// stop sends SIGTERM and checks that freshet dev exits 0 within the deadline.
func (in *instance) stop() {
	in.t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		in.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-in.exited:
	case <-time.After(time.Minute):
		in.t.Fatalf("freshet dev did not exit within 1m of SIGTERM")
	}
	if code := in.cmd.ProcessState.ExitCode(); code != 0 {
		in.t.Fatalf("freshet dev exited %d after SIGTERM:\n%s", code, tail(in.stderr.snapshot(), 40))
	}
}

// childPids lists the live processes whose parent is the instance.
func (in *instance) childPids(cmdSubstring string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != strconv.Itoa(in.cmd.Process.Pid) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(cmdline), cmdSubstring) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// writePipeline writes the end-to-end pipeline: http → enrich (Go) →
// classify (Python) → an HTTP sink at sinkURL.
func writePipeline(t *testing.T, sinkURL string) string {
	t.Helper()
	yaml := fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: enrich
spec:
  container:
    command: [%q]
  scale: {min: 2, containerConcurrency: 32}
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
            command: [python3, %q]
          scale: {min: 2, containerConcurrency: 16}
          delivery: {retry: 10, backoffPolicy: exponential, backoffDelay: 50ms}
    - name: out
      sink:
        http: {uri: %q}
        delivery: {retry: 10, backoffPolicy: exponential, backoffDelay: 50ms}
  edges:
    - {from: in, to: enrich}
    - {from: enrich, to: classify}
    - {from: classify, to: out}
`, bins.enrich, filepath.Join(bins.root, "samples/functions/python-classify/main.py"), sinkURL)
	path := filepath.Join(t.TempDir(), "e2e.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func killPid(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 %d: %w", pid, err)
	}
	return nil
}
