package samples_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// process is a sample function running as a child process.
type process struct {
	cmd    *exec.Cmd
	url    string
	output *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before done is closed
}

// syncBuffer collects a child's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs name with args and PORT set, and waits until GET /healthz
// answers 200. The process is killed when the test ends.
func start(t *testing.T, name string, args ...string) *process {
	t.Helper()
	port := freePort(t)
	p := &process{
		cmd:    exec.Command(name, args...),
		url:    "http://127.0.0.1:" + strconv.Itoa(port),
		output: &syncBuffer{},
		done:   make(chan struct{}),
	}
	p.cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output)
		}
	})
	p.waitHealthy(t, 60*time.Second)
	return p
}

// waitHealthy polls /healthz until it answers 200 or the deadline passes.
func (p *process) waitHealthy(t *testing.T, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.After(timeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("process exited before it was healthy: %v\n%s", p.err, p.output)
		case <-deadline:
			t.Fatalf("/healthz not 200 after %v (last error %v)\n%s", timeout, err, p.output)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and checks that the process exits cleanly in time.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.output)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("process did not exit within 30s of SIGTERM")
	}
}

// goTool returns the go command that runs this test.
func goTool(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no go command on PATH or in GOROOT: %v", err)
	}
	return p
}

// buildGo builds the sample package in dir and returns the binary's path.
func buildGo(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(dir))
	cmd := exec.Command(goTool(t), "build", "-o", bin, "./"+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", dir, err, out)
	}
	return bin
}

// python returns the python3 interpreter, failing the test if there is none.
func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required to test samples/functions/python-classify but was not found on PATH: %v", err)
	}
	return p
}

// send returns a function that sends a request built by a (request, error)
// constructor and returns the response, failing on any error.
func send(t *testing.T, client *http.Client) func(*http.Request, error) *http.Response {
	return func(req *http.Request, err error) *http.Response {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
		t.Cleanup(cancel)
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
}
