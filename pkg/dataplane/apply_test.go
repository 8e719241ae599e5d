package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/buffer/jetstream"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/router"
)

// These tests drive Plane.Apply against a real embedded JetStream store, a
// real HTTP function replica and the real ingress, scaler loop and pool.
// Only the Runner (the plane's I/O boundary towards processes or
// Deployments) is a recording stand-in.

// waitWithin bounds every wait for an outcome; generous for -race.
const waitWithin = 20 * time.Second

// The pipeline used throughout: ns/p, an HTTP source "in" feeding the
// function vertex "fn", which feeds the log sink "out"; and the Function
// ns/echo. Function keys are the activator's: namespace/object name.
const (
	ns      = "ns"
	fnPath  = "ns/p/fn"
	outPath = "ns/p/out"
	fnKey   = "ns/p-fn"
	echoKey = "ns/echo"
	inURL   = "/pipelines/ns/p/in"
	echoURL = "/functions/ns/echo"
)

// ---- the pipeline and Function objects ----

func vertex(name string, spec v1alpha1.VertexSpec) *v1alpha1.Vertex {
	spec.PipelineName, spec.Name = "p", name
	return &v1alpha1.Vertex{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p-" + name}, Spec: spec}
}

func edge(from, to string) []v1alpha1.Edge { return []v1alpha1.Edge{{From: from, To: to}} }

// pipelineVertices returns fresh, undefaulted objects for in → fn → out.
func pipelineVertices() (in, fn, out *v1alpha1.Vertex) {
	in = vertex("in", v1alpha1.VertexSpec{Source: &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}}, Edges: edge("in", "fn")})
	fn = vertex("fn", v1alpha1.VertexSpec{
		Function: &v1alpha1.FunctionSpec{Container: v1alpha1.Container{Image: "example.com/echo"}},
		Edges:    edge("fn", "out"),
	})
	out = vertex("out", v1alpha1.VertexSpec{Sink: &v1alpha1.Sink{Log: &v1alpha1.LogSink{}}})
	return in, fn, out
}

func functionObject(name string) *v1alpha1.Function {
	return &v1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.FunctionSpec{Container: v1alpha1.Container{Image: "example.com/echo"}},
	}
}

// everything is the pipeline and the Function ns/echo, built afresh so that
// equal resources are never the same pointers.
func everything() Resources {
	in, fn, out := pipelineVertices()
	return Resources{Functions: []*v1alpha1.Function{functionObject("echo")}, Vertices: []*v1alpha1.Vertex{in, fn, out}}
}

// phases sets every vertex's desired phase and observed phase.
func phases(vs []*v1alpha1.Vertex, desired, observed v1alpha1.Phase) {
	for _, v := range vs {
		v.Spec.Lifecycle.DesiredPhase, v.Status.Phase = desired, observed
	}
}

// ---- the fixture ----

// fixture is a data plane served over HTTP, with its parts at hand.
type fixture struct {
	store  *readTrackingStore
	srv    *Server
	plane  *Plane
	runner *recordingRunner
	fn     *echoFunction
	sink   *lockedBuffer // the log sinks' output
	url    string        // the ingress
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	js, err := jetstream.Open(context.Background(), jetstream.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { js.Close() })
	f := &fixture{
		store:  &readTrackingStore{Store: js, active: map[string]int{}},
		runner: newRecordingRunner(),
		fn:     newEchoFunction(t),
		sink:   &lockedBuffer{},
	}
	f.srv, err = NewServer(ServerConfig{
		Store:       f.store,
		NewRunner:   func(*router.Pool) Runner { return f.runner },
		FunctionKey: func(v *v1alpha1.Vertex) string { return v.Namespace + "/" + v.Name },
		Grace:       2 * time.Second,
		Stdout:      f.sink,
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	f.plane = f.srv.Plane
	t.Cleanup(f.plane.Close) // before the function and the store go
	// The one echo replica serves both the function vertex and ns/echo.
	for _, key := range []string{fnKey, echoKey} {
		f.srv.Pool.SetEndpoints(key, []string{f.fn.srv.URL})
	}
	ingress := httptest.NewServer(f.srv.Ingress.Handler())
	t.Cleanup(ingress.Close)
	f.url = ingress.URL
	return f
}

func (f *fixture) apply(t *testing.T, res Resources) {
	t.Helper()
	if err := f.plane.Apply(context.Background(), res); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// dispatchers is which dispatcher runs for each vertex path now; a
// restarted dispatcher is a different *running.
func (f *fixture) dispatchers() map[string]*running {
	f.plane.mu.Lock()
	defer f.plane.mu.Unlock()
	out := make(map[string]*running, len(f.plane.dispatchers))
	for path, r := range f.plane.dispatchers {
		out[path] = r
	}
	return out
}

// answer is an HTTP answer.
type answer struct {
	status int
	header http.Header
	body   string
}

// post sends one binary-mode CloudEvent with the given id.
func (f *fixture) post(t *testing.T, path, id string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitWithin)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url+path, strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Source": "/dataplane/test",
		"Ce-Type": "dev.freshet.test", "Content-Type": "application/json",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// mustPost posts and requires the status.
func (f *fixture) mustPost(t *testing.T, path, id string, status int) answer {
	t.Helper()
	a := f.post(t, path, id)
	if a.status != status {
		t.Fatalf("POST %s (event %s) = %d %q, want %d", path, id, a.status, a.body, status)
	}
	return a
}

func event(id string) *cloudevent.Event {
	return &cloudevent.Event{SpecVersion: "1.0", ID: id, Source: "/dataplane/test", Type: "dev.freshet.test",
		DataContentType: "application/json", Data: []byte(`{"n":1}`)}
}

// write puts events with the given ids into b as the ingress would.
func write(t *testing.T, b buffer.Buffer, ids ...string) {
	t.Helper()
	msgs := make([]buffer.Message, len(ids))
	for i, id := range ids {
		e := event(id)
		msgs[i] = buffer.Message{ID: router.EventID(e), Data: cloudevent.MarshalRecord(e)}
	}
	if err := b.Write(context.Background(), msgs); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// writeTo writes into the plane's buffer in front of the vertex at path.
func (f *fixture) writeTo(t *testing.T, path string, ids ...string) {
	t.Helper()
	b := f.plane.buffer(path)
	if b == nil {
		t.Fatalf("the plane has no buffer for %s", path)
	}
	write(t, b, ids...)
}

// pending is Plane.Pending of the vertex at path, which must have a buffer.
func (f *fixture) pending(t *testing.T, path string) int64 {
	t.Helper()
	n, ok, err := f.plane.Pending(context.Background(), path)
	if err != nil || !ok {
		t.Fatalf("Pending(%s) = %d, %v, %v", path, n, ok, err)
	}
	return n
}

// waitSink waits until the log sink has written every id.
func (f *fixture) waitSink(t *testing.T, ids ...string) {
	t.Helper()
	waitFor(t, "the sink to write "+strings.Join(ids, ","), func() bool {
		got := f.sink.ids(t)
		for _, id := range ids {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// waitFor polls cond until it holds or waitWithin passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitWithin)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitWithin, what)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not a wait for an outcome
	}
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// ---- stand-ins and instruments ----

// recordingRunner records what the plane asks of it; replicas are what
// SetReplicas last set, all of them ready.
type recordingRunner struct {
	mu       sync.Mutex
	runs     map[string]int // Run calls by key
	stops    map[string]int // Stop calls by key
	statuses map[string]int // Status calls by key: the plane (re)adding a scaler entry
	replicas map[string]int
}

func newRecordingRunner() *recordingRunner {
	return &recordingRunner{runs: map[string]int{}, stops: map[string]int{}, statuses: map[string]int{}, replicas: map[string]int{}}
}

func (r *recordingRunner) Run(fn Function) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if fn.Spec == nil || fn.Spec.Scale.Min == nil {
		return errors.New("Run got an undefaulted spec")
	}
	r.runs[fn.Key]++
	return nil
}

func (r *recordingRunner) Stop(key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stops[key]++
	delete(r.replicas, key)
	return nil
}

func (r *recordingRunner) SetReplicas(key string, n int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replicas[key] = n
	return nil
}

func (r *recordingRunner) Status(key string) (desired, ready int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses[key]++
	return r.replicas[key], r.replicas[key]
}

// calls is a copy of the counts so far.
type calls struct{ runs, stops, statuses map[string]int }

func (r *recordingRunner) calls() calls {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := func(m map[string]int) map[string]int {
		out := make(map[string]int, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return calls{cp(r.runs), cp(r.stops), cp(r.statuses)}
}

// echoFunction is a real HTTP function replica answering each event with
// itself, counting the requests per event id.
type echoFunction struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]int
}

func newEchoFunction(t *testing.T) *echoFunction {
	e := &echoFunction{got: map[string]int{}}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		events, err := cloudevent.ReadRequest(r, 0)
		if err != nil || len(events) != 1 {
			http.Error(w, "want one event", http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		e.got[events[0].ID]++
		e.mu.Unlock()
		cloudevent.WriteResponse(w, http.StatusOK, events[0])
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *echoFunction) requests(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.got[id]
}

// lockedBuffer is the log sinks' stdout.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// ids counts the JSON lines written so far by their top-level "id".
func (b *lockedBuffer) ids(t *testing.T) map[string]int {
	t.Helper()
	b.mu.Lock()
	out := bytes.Clone(b.buf.Bytes())
	b.mu.Unlock()
	got := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.ID == "" {
			t.Fatalf("sink line %q is not a CloudEvent with an id: %v", sc.Text(), err)
		}
		got[line.ID]++
	}
	return got
}

// readTrackingStore is the real JetStream store, counting the Reads in
// flight on each buffer. A stopped dispatcher may be inside a Read when it
// is cancelled, and an event written meanwhile could still reach it; tests
// that check a stopped dispatcher leaves events alone first wait for its
// Reads to end. A Read with an already-ended context returns at once, as
// JetStream's would (without the pull request it would make and hand back).
type readTrackingStore struct {
	*jetstream.Store
	mu     sync.Mutex
	active map[string]int // by buffer name
}

func (s *readTrackingStore) Open(ctx context.Context, name string) (buffer.Buffer, error) {
	b, err := s.Store.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return &trackedBuffer{Buffer: b, name: name, store: s}, nil
}

// waitReadsDone waits until no Read is in flight on the buffer of the
// vertex at path.
func (s *readTrackingStore) waitReadsDone(t *testing.T, path string) {
	t.Helper()
	parts := strings.Split(path, "/")
	name := bufferName(parts[0], parts[1], parts[2])
	waitFor(t, "the Reads on "+path+" to end", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.active[name] == 0
	})
}

type trackedBuffer struct {
	buffer.Buffer
	name  string
	store *readTrackingStore
}

func (b *trackedBuffer) Read(ctx context.Context, max int, maxWait time.Duration) ([]buffer.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.store.mu.Lock()
	b.store.active[b.name]++
	b.store.mu.Unlock()
	defer func() {
		b.store.mu.Lock()
		b.store.active[b.name]--
		b.store.mu.Unlock()
	}()
	return b.Buffer.Read(ctx, max, maxWait)
}

// ---- the tests ----

// TestApplyRunsPipelineAndFunctions proves one Apply makes the pipeline
// flow end to end (every event accepted at the source reaches the sink
// through the function) and makes exactly the Functions in Resources
// invocable, each function run once and scaled.
func TestApplyRunsPipelineAndFunctions(t *testing.T) {
	f := newFixture(t)
	f.apply(t, everything())

	sent := ids("e", 20)
	for _, id := range sent {
		f.mustPost(t, inURL, id, http.StatusAccepted)
	}
	f.waitSink(t, sent...)
	for _, id := range sent {
		mustEqual(t, "function requests for "+id, f.fn.requests(id), 1)
	}
	waitFor(t, "the function vertex's buffer to drain", func() bool { return f.pending(t, fnPath) == 0 })

	a := f.mustPost(t, echoURL, "i1", http.StatusOK)
	mustEqual(t, "echoed Ce-Id", a.header.Get("Ce-Id"), "i1")
	mustEqual(t, "echoed body", a.body, `{"n":1}`)
	a = f.mustPost(t, "/functions/ns/nope", "i2", http.StatusNotFound)
	if !strings.Contains(a.body, "ns/nope") {
		t.Fatalf("404 body %q does not name the Function", a.body)
	}
	f.mustPost(t, "/pipelines/ns/p/nope", "i3", http.StatusNotFound)

	c := f.runner.calls()
	mustEqual(t, "Run calls of "+fnKey, c.runs[fnKey], 1)
	mustEqual(t, "Run calls of "+echoKey, c.runs[echoKey], 1)
	mustEqual(t, "Runner keys run", len(c.runs), 2)
	for _, key := range []string{fnKey, echoKey} {
		if !f.srv.Scaler.Has(key) {
			t.Fatalf("the scaler does not scale %s", key)
		}
	}
	d := f.dispatchers()
	if len(d) != 2 || d[fnPath] == nil || d[outPath] == nil {
		t.Fatalf("dispatchers = %v, want ones for %s and %s only", d, fnPath, outPath)
	}
	// A source vertex's backlog is what waits in its system: for HTTP,
	// requests not yet buffered — none now.
	n, ok, err := f.plane.Pending(context.Background(), "ns/p/in")
	if err != nil || !ok || n != 0 {
		t.Fatalf("Pending of the source = %d, %v, %v; want 0, true, nil", n, ok, err)
	}
	if _, ok, _ := f.plane.Pending(context.Background(), "ns/p/nope"); ok {
		t.Fatal("Pending of an unknown vertex reported one")
	}
}

// TestApplyUnchangedIsNoOp proves re-applying equal resources (new
// objects), or resources differing only in a vertex's spec.replicas (what
// the scaler writes), restarts no dispatcher, runs no function again and
// re-adds no scaler entry; the kept dispatchers still deliver.
func TestApplyUnchangedIsNoOp(t *testing.T) {
	f := newFixture(t)
	f.apply(t, everything())
	before, calls := f.dispatchers(), f.runner.calls()

	same := func(step string) {
		t.Helper()
		after := f.dispatchers()
		mustEqual(t, step+": dispatchers", len(after), len(before))
		for path, r := range before {
			if after[path] != r {
				t.Fatalf("%s: the dispatcher of %s was restarted", step, path)
			}
		}
		now := f.runner.calls()
		for _, key := range []string{fnKey, echoKey} {
			mustEqual(t, step+": Run calls of "+key, now.runs[key], calls.runs[key])
			mustEqual(t, step+": Status calls (scaler re-adds) of "+key, now.statuses[key], calls.statuses[key])
			mustEqual(t, step+": Stop calls of "+key, now.stops[key], 0)
		}
	}

	f.apply(t, everything())
	same("equal resources")

	res := everything()
	three := int32(3)
	res.Vertices[1].Spec.Replicas = &three // the function vertex
	res.Vertices[1].Status.Replicas = 3
	f.apply(t, res)
	same("vertex spec.replicas changed")

	// The scaler writes a Function's spec.replicas too: that must neither
	// re-run it nor replace its invoker, whose counts of requests in flight
	// and waiting the scaler reads and MaxWaiting bounds.
	invoker := f.invoker(t, echoKey)
	res.Functions[0].Spec.Replicas = &three
	f.apply(t, res)
	same("Function spec.replicas changed")
	if f.invoker(t, echoKey) != invoker {
		t.Fatal("the Function's invoker was replaced though only spec.replicas changed")
	}

	f.mustPost(t, inURL, "k1", http.StatusAccepted)
	f.waitSink(t, "k1")
	f.mustPost(t, echoURL, "k2", http.StatusOK)
}

// TestApplyPauseAndResume follows a pipeline's pause: its source refuses
// events at once; a function vertex asked to pause keeps draining its
// buffer until its status says Paused, then its dispatcher stops, its
// function is stopped and unscaled, and what reaches its buffer waits;
// resuming delivers it.
// invoker is the invoker the plane holds for the Function key.
func (f *fixture) invoker(t *testing.T, key string) *router.Invoker {
	t.Helper()
	f.plane.mu.Lock()
	defer f.plane.mu.Unlock()
	fn := f.plane.functions[key]
	if fn == nil || fn.invoker == nil {
		t.Fatalf("no invoker for %s", key)
	}
	return fn.invoker
}

func TestApplyPauseAndResume(t *testing.T) {
	f := newFixture(t)
	f.apply(t, everything())
	f.mustPost(t, inURL, "a0", http.StatusAccepted)
	f.waitSink(t, "a0")
	before, calls := f.dispatchers(), f.runner.calls()

	// Pausing: every vertex is asked to pause; none has paused yet.
	res := everything()
	phases(res.Vertices, v1alpha1.PhasePaused, v1alpha1.PhasePausing)
	f.apply(t, res)
	a := f.mustPost(t, inURL, "x1", http.StatusServiceUnavailable)
	if !strings.Contains(a.body, "pipeline ns/p") {
		t.Fatalf("503 body %q does not name the pipeline ns/p", a.body)
	}
	mustEqual(t, "Retry-After", a.header.Get("Retry-After"), "30")
	f.writeTo(t, fnPath, "b1", "b2", "b3")
	f.waitSink(t, "b1", "b2", "b3")
	if got := f.dispatchers(); got[fnPath] != before[fnPath] || got[outPath] != before[outPath] {
		t.Fatalf("a desired phase alone restarted or stopped dispatchers: %v, was %v", got, before)
	}
	mustEqual(t, "Run calls of "+fnKey+" while pausing", f.runner.calls().runs[fnKey], calls.runs[fnKey])

	// The function vertex has paused; the sink is still draining.
	res = everything()
	phases(res.Vertices, v1alpha1.PhasePaused, v1alpha1.PhasePausing)
	res.Vertices[1].Status.Phase = v1alpha1.PhasePaused
	f.apply(t, res)
	got := f.dispatchers()
	if got[fnPath] != nil {
		t.Fatalf("the paused vertex %s still has a dispatcher", fnPath)
	}
	if got[outPath] != before[outPath] {
		t.Fatalf("the sink's dispatcher was restarted or stopped")
	}
	mustEqual(t, "Stop calls of "+fnKey, f.runner.calls().stops[fnKey], 1)
	mustEqual(t, "scaler has "+fnKey, f.srv.Scaler.Has(fnKey), false)
	mustEqual(t, "scaler has "+echoKey, f.srv.Scaler.Has(echoKey), true)

	f.store.waitReadsDone(t, fnPath)
	f.writeTo(t, fnPath, "q1", "q2")
	// A marker through the running sink: the plane has been at work
	// since, and the paused vertex's events are still where they were.
	f.writeTo(t, outPath, "m1")
	f.waitSink(t, "m1")
	mustEqual(t, "pending at the paused "+fnPath, f.pending(t, fnPath), int64(2))
	sunk := f.sink.ids(t)
	for _, id := range []string{"q1", "q2"} {
		mustEqual(t, "function requests for "+id+" while paused", f.fn.requests(id), 0)
		mustEqual(t, "sink lines for "+id+" while paused", sunk[id], 0)
	}

	// Resumed: asked to run again, before the status catches up.
	res = everything()
	phases(res.Vertices, v1alpha1.PhaseRunning, v1alpha1.PhasePaused)
	f.apply(t, res)
	f.waitSink(t, "q1", "q2")
	waitFor(t, "the resumed vertex's buffer to drain", func() bool { return f.pending(t, fnPath) == 0 })
	f.mustPost(t, inURL, "r1", http.StatusAccepted)
	f.waitSink(t, "r1")
	mustEqual(t, "Run calls of "+fnKey+" after resuming", f.runner.calls().runs[fnKey], calls.runs[fnKey]+1)
	mustEqual(t, "scaler has "+fnKey+" after resuming", f.srv.Scaler.Has(fnKey), true)
}

// TestApplyRemoves proves what leaves Resources stops: without the
// pipeline's vertices its source is gone (404), no dispatcher reads its
// buffers and its function is stopped; without the Function it is no
// longer invocable and is stopped.
func TestApplyRemoves(t *testing.T) {
	f := newFixture(t)
	f.apply(t, everything())
	f.mustPost(t, inURL, "a1", http.StatusAccepted)
	f.waitSink(t, "a1")

	f.apply(t, Resources{Functions: []*v1alpha1.Function{functionObject("echo")}})
	f.mustPost(t, inURL, "a2", http.StatusNotFound)
	if d := f.dispatchers(); len(d) != 0 {
		t.Fatalf("dispatchers after removing the pipeline: %v", d)
	}
	c := f.runner.calls()
	mustEqual(t, "Stop calls of "+fnKey, c.stops[fnKey], 1)
	mustEqual(t, "Stop calls of "+echoKey, c.stops[echoKey], 0)
	mustEqual(t, "scaler has "+fnKey, f.srv.Scaler.Has(fnKey), false)

	// Events reaching the buffers now stay there: write them through
	// handles of our own, so as not to rely on the plane keeping its.
	for _, path := range []string{fnPath, outPath} {
		f.store.waitReadsDone(t, path)
	}
	fnBuf := f.openBuffer(t, "fn")
	outBuf := f.openBuffer(t, "out")
	write(t, fnBuf, "g1")
	write(t, outBuf, "g2")
	f.mustPost(t, echoURL, "g3", http.StatusOK) // a round trip through the same replica meanwhile
	for name, b := range map[string]buffer.Buffer{"fn": fnBuf, "out": outBuf} {
		n, err := b.Pending(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("pending in the removed vertex %s's buffer = %d, %v; want 1", name, n, err)
		}
	}
	mustEqual(t, "function requests for g1", f.fn.requests("g1"), 0)
	mustEqual(t, "sink lines for g2", f.sink.ids(t)["g2"], 0)

	f.apply(t, Resources{})
	f.mustPost(t, echoURL, "g4", http.StatusNotFound)
	mustEqual(t, "Stop calls of "+echoKey, f.runner.calls().stops[echoKey], 1)
	mustEqual(t, "scaler has "+echoKey, f.srv.Scaler.Has(echoKey), false)
}

// openBuffer opens the buffer of vertex name of ns/p straight from the store.
func (f *fixture) openBuffer(t *testing.T, name string) buffer.Buffer {
	t.Helper()
	b, err := f.store.Store.Open(context.Background(), bufferName(ns, "p", name))
	if err != nil {
		t.Fatalf("open buffer: %v", err)
	}
	return b
}

// TestApplyInvalidObjects proves an invalid Function or Vertex is left out
// and named in Apply's error while every valid object is applied.
func TestApplyInvalidObjects(t *testing.T) {
	f := newFixture(t)
	res := everything()
	noImage := functionObject("bad")
	noImage.Spec.Container.Image = ""
	res.Functions = append(res.Functions, noImage)
	twoKinds := vertex("both", v1alpha1.VertexSpec{
		Source: &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}},
		Sink:   &v1alpha1.Sink{Log: &v1alpha1.LogSink{}},
	})
	res.Vertices = append(res.Vertices, twoKinds)

	err := f.plane.Apply(context.Background(), res)
	if err == nil {
		t.Fatal("Apply of invalid objects succeeded")
	}
	for _, want := range []string{"Function ns/bad", "Vertex ns/p-both"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("Apply error %q does not name %s", err, want)
		}
	}
	for _, valid := range []string{"ns/echo", "ns/p-in", "ns/p-fn", "ns/p-out"} {
		if strings.Contains(err.Error(), valid+":") {
			t.Fatalf("Apply error %q blames the valid %s", err, valid)
		}
	}

	f.mustPost(t, inURL, "v1", http.StatusAccepted)
	f.waitSink(t, "v1")
	f.mustPost(t, echoURL, "v2", http.StatusOK)
	f.mustPost(t, "/functions/ns/bad", "v3", http.StatusNotFound)
	f.mustPost(t, "/pipelines/ns/p/both", "v4", http.StatusNotFound)
	c := f.runner.calls()
	mustEqual(t, "Run calls of ns/bad", c.runs["ns/bad"], 0)
	mustEqual(t, "Run calls of ns/p-both", c.runs["ns/p-both"], 0)
	mustEqual(t, "scaler has ns/bad", f.srv.Scaler.Has("ns/bad"), false)
}

// TestApplyAfterClose proves a closed plane takes no more resources.
func TestApplyAfterClose(t *testing.T) {
	f := newFixture(t)
	f.apply(t, everything())
	f.plane.Close()
	before := f.runner.calls()
	if err := f.plane.Apply(context.Background(), everything()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Apply after Close = %v, want ErrClosed", err)
	}
	mustEqual(t, "Run calls after Close", f.runner.calls().runs[fnKey], before.runs[fnKey])
}

// maxMessageStore is a Store that tells its largest message.
type maxMessageStore struct {
	buffer.Store
	max int64
}

func (s maxMessageStore) MaxMessageBytes() int64 { return s.max }

// plainStore is a Store that does not.
type plainStore struct{ buffer.Store }

func TestBodyLimit(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name    string
		asked   int64
		store   buffer.Store
		want    int64
		wantErr string
	}{
		{name: "default, no limit known", store: plainStore{}, want: router.DefaultMaxBodyBytes},
		{name: "default under a large store limit", store: maxMessageStore{max: 8 * mib}, want: router.DefaultMaxBodyBytes},
		{name: "default capped by a small store limit", store: maxMessageStore{max: mib}, want: mib - recordOverhead},
		{name: "negative asks for the default", asked: -1, store: maxMessageStore{max: mib}, want: mib - recordOverhead},
		{name: "explicit value that fits", asked: 512 << 10, store: maxMessageStore{max: mib}, want: 512 << 10},
		{name: "explicit value at the limit", asked: mib - recordOverhead, store: maxMessageStore{max: mib}, want: mib - recordOverhead},
		{name: "explicit value above the default, no limit known", asked: 16 * mib, store: plainStore{}, want: 16 * mib},
		{name: "explicit value too large", asked: mib, store: maxMessageStore{max: mib}, wantErr: "max_payload"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bodyLimit(tc.asked, tc.store)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("bodyLimit(%d) = %d, %v; want an error mentioning %q", tc.asked, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("bodyLimit(%d) = %d, %v; want %d", tc.asked, got, err, tc.want)
			}
		})
	}
}
