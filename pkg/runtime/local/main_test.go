package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// echofn is the path of the test function built by TestMain from testdata/echofn.
var echofn string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "freshet-local-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echofn = filepath.Join(dir, "echofn")
	build := exec.Command("go", "build", "-o", echofn, "./testdata/echofn")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build testdata/echofn:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitTimeout bounds every wait in these tests: generous, for a loaded 2-core machine.
const waitTimeout = 60 * time.Second

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(10 * time.Millisecond) // poll period, not a wait for an outcome
	}
}

// alive reports whether pid is a live process (neither gone nor a zombie).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) STATE ...; comm may hold spaces and parentheses.
	rest := stat[strings.LastIndexByte(string(stat), ')')+1:]
	return !strings.HasPrefix(strings.TrimSpace(string(rest)), "Z")
}

// syncLog is a Config.Log that tests can read while replicas write to it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *syncLog) contains(s string) bool { return strings.Contains(l.String(), s) }

// testRouter records SetEndpoints and sends real requests, tracking those in flight
// per endpoint so WaitIdle can drain.
type testRouter struct {
	client *http.Client

	mu       sync.Mutex
	eps      map[string][]string
	calls    map[string][][]string // every SetEndpoints per function, in order
	inflight map[string]int        // by endpoint URL
	next     int                   // round robin
	changed  chan struct{}
}

func newTestRouter() *testRouter {
	return &testRouter{
		client:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		eps:      make(map[string][]string),
		calls:    make(map[string][][]string),
		inflight: make(map[string]int),
		changed:  make(chan struct{}),
	}
}

func (tr *testRouter) notifyLocked() {
	close(tr.changed)
	tr.changed = make(chan struct{})
}

func (tr *testRouter) SetEndpoints(function string, urls []string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.eps[function] = urls
	tr.calls[function] = append(tr.calls[function], urls)
	tr.notifyLocked()
}

func (tr *testRouter) WaitIdle(ctx context.Context, function, url string) error {
	for {
		tr.mu.Lock()
		n, changed := tr.inflight[url], tr.changed
		tr.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (tr *testRouter) endpoints(function string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.eps[function])
}

func (tr *testRouter) callsOf(function string) [][]string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.calls[function])
}

// send POSTs body to an endpoint of function (round robin), with query appended to the
// URL, and returns the status, the answer and the endpoint used.
func (tr *testRouter) send(function, query, body string) (status int, answer, url string, err error) {
	tr.mu.Lock()
	eps := tr.eps[function]
	if len(eps) == 0 {
		tr.mu.Unlock()
		return 0, "", "", fmt.Errorf("function %s has no endpoints", function)
	}
	url = eps[tr.next%len(eps)]
	tr.next++
	tr.inflight[url]++
	tr.mu.Unlock()
	defer func() {
		tr.mu.Lock()
		tr.inflight[url]--
		tr.notifyLocked()
		tr.mu.Unlock()
	}()
	resp, err := tr.client.Post(url+"/?"+query, "text/plain", strings.NewReader(body))
	if err != nil {
		return 0, "", url, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), url, err
}

// harness is one Runtime under test with its router and log.
type harness struct {
	*Runtime
	router *testRouter
	log    *syncLog
}

// newHarness starts a Runtime that the test closes at its end, and shows its log when
// the test fails.
func newHarness(t *testing.T) *harness {
	h := &harness{router: newTestRouter(), log: &syncLog{}}
	h.Runtime = New(Config{Router: h.router, Log: h.log})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("runtime log:\n%s", h.log.String())
		}
	})
	return h
}

// echo returns a spec running the test function with env entries added.
func echo(env ...string) ProcessSpec {
	return ProcessSpec{Command: []string{echofn}, Env: env}
}

// start applies spec as function name, scales it to n and waits until n replicas are
// ready and published.
func (h *harness) start(t *testing.T, name string, spec ProcessSpec, n int) {
	t.Helper()
	if err := h.Apply(name, spec); err != nil {
		t.Fatal(err)
	}
	h.scale(t, name, n)
}

// scale sets function name to n replicas and waits until exactly n are ready,
// published, and running.
func (h *harness) scale(t *testing.T, name string, n int) {
	t.Helper()
	if err := h.SetReplicas(name, n); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := h.WaitReady(ctx, name, n); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fmt.Sprintf("%d endpoints and processes of %s", n, name), func() bool {
		return len(h.router.endpoints(name)) == n && len(h.Pids(name)) == n
	})
}
