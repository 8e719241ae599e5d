package activator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/buffer/jetstream"
	"github.com/freshetproj/freshet/pkg/reconciler/function"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline"
	"github.com/freshetproj/freshet/pkg/reconciler/vertex"
	sqsbrokers "github.com/freshetproj/freshet/test/brokers/sqs"
	"github.com/freshetproj/freshet/test/envtest"
)

// httpClient bounds every request: a held request fails the test rather
// than hanging it.
var httpClient = &http.Client{Timeout: 90 * time.Second}

// noopfn is the pass-through function TestMain builds.
var noopfn string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "freshet-activator-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := envtest.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	noopfn = filepath.Join(dir, "noopfn")
	cmd := exec.Command("go", "build", "-o", noopfn, "./test/bench/noopfn")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "activator tests: building test/bench/noopfn: %v\n", err)
		return 1
	}
	return envtest.RunMain(m)
}

// cluster is one test's world: the shared API server, the controller's
// reconcilers, the pod stand-in for the namespace, an embedded NATS
// JetStream and the activator under test.
type cluster struct {
	env  *envtest.Env
	c    client.Client
	ns   string
	url  string // the activator's base URL
	sink *lines // what the log sinks wrote

	mu       sync.Mutex
	accepted map[string]bool // ids of the events a source answered 202
}

func start(t *testing.T) *cluster {
	t.Helper()
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	env.RunManager(t, env.Config, func(mgr ctrl.Manager) error {
		c := mgr.GetClient()
		if err := (&function.Reconciler{Client: c, ActivatorURL: "http://activator.test"}).SetupWithManager(mgr); err != nil {
			return err
		}
		if err := (&pipeline.Reconciler{Client: c}).SetupWithManager(mgr); err != nil {
			return err
		}
		return (&vertex.Reconciler{Client: c}).SetupWithManager(mgr)
	})
	startPodRunner(t, env.Client, ns)

	nats, err := jetstream.Open(context.Background(), jetstream.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded NATS JetStream: %v", err)
	}
	t.Cleanup(func() { nats.Close() })

	cl := &cluster{env: env, c: env.Client, ns: ns, sink: &lines{}, accepted: map[string]bool{}}
	// The activator runs with exactly the permissions its markers grant
	// (config/activator/role.yaml is generated from them).
	var rules []rbacv1.PolicyRule
	for _, f := range []string{"endpoints.go", "scaler.go", "backlog.go"} {
		rules = append(rules, envtest.RBACMarkers(t, filepath.Join(root(t), "pkg", "runtime", "kubernetes", f))...)
	}
	user := env.ClusterUserWithRules(t, "activator-"+ns, rules)
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = Run(ctx, Config{
			Addr:            "127.0.0.1:0",
			NATSURL:         nats.ClientURL(),
			Grace:           5 * time.Second,
			ScaleInterval:   200 * time.Millisecond,
			BacklogInterval: 200 * time.Millisecond,
			Stdout:          cl.sink,
			Listening:       func(u string) { ready <- u },
		}, user)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if runErr != nil {
			t.Errorf("activator: %v", runErr)
		}
	})
	select {
	case cl.url = <-ready:
	case <-done:
		t.Fatal("activator stopped before serving")
	case <-time.After(60 * time.Second):
		t.Fatal("activator did not serve within 60s")
	}
	return cl
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func (cl *cluster) create(t *testing.T, obj client.Object) {
	t.Helper()
	obj.SetNamespace(cl.ns)
	if err := cl.c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %s: %v", obj.GetName(), err)
	}
	// envtest runs no namespace controller: without this, later tests'
	// activators, which watch every namespace, would find it.
	t.Cleanup(func() {
		if err := client.IgnoreNotFound(cl.c.Delete(context.Background(), obj)); err != nil {
			t.Errorf("delete %s: %v", obj.GetName(), err)
		}
	})
}

// post sends one binary-mode CloudEvent and returns the status and body.
func (cl *cluster) post(t *testing.T, path, id string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, cl.url+path, strings.NewReader(`{"n":"`+id+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", id)
	req.Header.Set("ce-source", "/test")
	req.Header.Set("ce-type", "dev.freshet.test")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusAccepted {
		cl.mu.Lock()
		cl.accepted[id] = true
		cl.mu.Unlock()
	}
	return resp.StatusCode, string(body)
}

// replicas is the spec.replicas of Deployment name (-1 while it is missing).
func (cl *cluster) replicas(name string) int32 {
	var d appsv1.Deployment
	if err := cl.c.Get(context.Background(), types.NamespacedName{Namespace: cl.ns, Name: name}, &d); err != nil {
		return -1
	}
	return ptr.Deref(d.Spec.Replicas, 1)
}

func noop() v1alpha1.Container {
	return v1alpha1.Container{Image: "example.test/noop", Command: []string{noopfn}}
}

func scaleToZero() v1alpha1.Scale {
	return v1alpha1.Scale{
		Min:             ptr.To[int32](0),
		Max:             ptr.To[int32](2),
		IdleTimeout:     &metav1.Duration{Duration: 2 * time.Second},
		ScaleDownWindow: &metav1.Duration{Duration: time.Second},
	}
}

// TestInvokeWakesFunctionFromZero: a Function at zero answers a
// synchronous request — the activator scales it through the scale
// subresource, the controller scales its Deployment, and the request is
// held until the replica's endpoint is ready — then returns to zero.
func TestInvokeWakesFunctionFromZero(t *testing.T) {
	cl := start(t)
	cl.create(t, &v1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec:       v1alpha1.FunctionSpec{Container: noop(), Scale: scaleToZero()},
	})
	envtest.EventuallyWithin(t, 60*time.Second, "the Deployment of echo exists at zero", until(func() int32 { return cl.replicas("echo") }, 0))

	code, body := cl.post(t, "/functions/"+cl.ns+"/echo", "wake-1")
	if code != http.StatusOK {
		t.Fatalf("invoke from zero: %d %s", code, body)
	}
	if !strings.Contains(body, "wake-1") {
		t.Fatalf("reply %q is not the echoed event", body)
	}
	var fn v1alpha1.Function
	if err := cl.c.Get(context.Background(), types.NamespacedName{Namespace: cl.ns, Name: "echo"}, &fn); err != nil {
		t.Fatal(err)
	}
	if fn.Spec.Replicas == nil || *fn.Spec.Replicas < 1 {
		t.Fatalf("spec.replicas %v after a wake: the activator did not scale through the scale subresource", fn.Spec.Replicas)
	}
	envtest.EventuallyWithin(t, 60*time.Second, "echo back at zero replicas after its idle timeout", until(func() int32 { return cl.replicas("echo") }, 0))

	code, body = cl.post(t, "/functions/"+cl.ns+"/missing", "x")
	if code != http.StatusNotFound || !strings.Contains(body, "missing") {
		t.Fatalf("unknown Function: %d %s, want 404 naming it", code, body)
	}
}

// pipelineObject is http source → inline noop function → log sink.
func pipelineObject(name string) *v1alpha1.Pipeline {
	return &v1alpha1.Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.PipelineSpec{
			Vertices: []v1alpha1.PipelineVertex{
				{Name: "in", Source: &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}}},
				{Name: "fn", Function: &v1alpha1.FunctionVertex{Spec: &v1alpha1.FunctionSpec{Container: noop(), Scale: scaleToZero()}}},
				{Name: "out", Sink: &v1alpha1.Sink{Log: &v1alpha1.LogSink{}}},
			},
			Edges: []v1alpha1.Edge{{From: "in", To: "fn"}, {From: "fn", To: "out"}},
		},
	}
}

// send posts n events with ids prefix-0.. and fails on any answer but 202.
func (cl *cluster) send(t *testing.T, pipeline, prefix string, n int) {
	t.Helper()
	for i := range n {
		if code, body := cl.post(t, "/pipelines/"+cl.ns+"/"+pipeline+"/in", fmt.Sprintf("%s-%d", prefix, i)); code != http.StatusAccepted {
			t.Fatalf("event %d: %d %s", i, code, body)
		}
	}
}

// TestPipelineDeliversEveryEvent: events sent to a Pipeline's HTTP source
// all reach its sink through a function vertex that wakes from zero, and
// the activator reports the vertex's backlog in its status.
func TestPipelineDeliversEveryEvent(t *testing.T) {
	cl := start(t)
	cl.create(t, pipelineObject("p"))
	envtest.EventuallyWithin(t, 60*time.Second, "the Pipeline's source is served", until(func() int {
		code, _ := cl.post(t, "/pipelines/"+cl.ns+"/p/in", "probe")
		return code
	}, http.StatusAccepted))
	const n = 200
	cl.send(t, "p", "e", n)
	envtest.EventuallyWithin(t, 60*time.Second, fmt.Sprintf("%d distinct events at the sink", n+1), until(cl.sink.distinctIDs, n+1))
	cl.checkDelivered(t)
	envtest.EventuallyWithin(t, 30*time.Second, "the function vertex's backlog reported as 0", func() (bool, string) {
		var v v1alpha1.Vertex
		if err := cl.c.Get(context.Background(), types.NamespacedName{Namespace: cl.ns, Name: "p-fn"}, &v); err != nil {
			return false, err.Error()
		}
		return v.Status.BacklogTime != nil && v.Status.Backlog == 0, fmt.Sprintf("backlog %d at %v", v.Status.Backlog, v.Status.BacklogTime)
	})
}

// TestPauseAndResume: pausing a Pipeline makes its source answer 503 at
// once, its function vertex drains and goes to zero, and the Pipeline
// reports Paused; resuming takes events again and delivers them.
func TestPauseAndResume(t *testing.T) {
	cl := start(t)
	cl.create(t, pipelineObject("p"))
	envtest.EventuallyWithin(t, 60*time.Second, "the Pipeline's source is served", until(func() int {
		code, _ := cl.post(t, "/pipelines/"+cl.ns+"/p/in", "probe")
		return code
	}, http.StatusAccepted))
	cl.send(t, "p", "before", 50)
	cl.setPhase(t, "p", v1alpha1.PhasePaused)
	envtest.EventuallyWithin(t, 30*time.Second, "the source answers 503 once paused", until(func() int {
		code, _ := cl.post(t, "/pipelines/"+cl.ns+"/p/in", "while-paused")
		return code
	}, http.StatusServiceUnavailable))
	envtest.EventuallyWithin(t, 90*time.Second, "the Pipeline Paused", until(func() v1alpha1.Phase { return cl.phase("p") }, v1alpha1.PhasePaused))
	// Paused only after the drain: every accepted event is at the sink.
	cl.checkDelivered(t)
	envtest.EventuallyWithin(t, 30*time.Second, "the function vertex at zero", until(func() int32 { return cl.replicas("p-fn") }, 0))

	cl.setPhase(t, "p", v1alpha1.PhaseRunning)
	envtest.EventuallyWithin(t, 30*time.Second, "the source takes events after resume", until(func() int {
		code, _ := cl.post(t, "/pipelines/"+cl.ns+"/p/in", "after-0")
		return code
	}, http.StatusAccepted))
	cl.send(t, "p", "after", 50)
	envtest.EventuallyWithin(t, 60*time.Second, "every accepted event at the sink", func() (bool, string) {
		got, want := cl.sink.distinctIDs(), cl.acceptedCount()
		return got == want, fmt.Sprintf("%d of %d", got, want)
	})
	cl.checkDelivered(t)
	envtest.EventuallyWithin(t, 30*time.Second, "the Pipeline Running", until(func() v1alpha1.Phase { return cl.phase("p") }, v1alpha1.PhaseRunning))
}

func (cl *cluster) setPhase(t *testing.T, name string, phase v1alpha1.Phase) {
	t.Helper()
	p := &v1alpha1.Pipeline{ObjectMeta: metav1.ObjectMeta{Namespace: cl.ns, Name: name}}
	patch := fmt.Appendf(nil, `{"spec":{"lifecycle":{"desiredPhase":%q}}}`, phase)
	if err := cl.c.Patch(context.Background(), p, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatalf("set %s's desired phase to %s: %v", name, phase, err)
	}
}

func (cl *cluster) phase(name string) v1alpha1.Phase {
	var p v1alpha1.Pipeline
	if err := cl.c.Get(context.Background(), types.NamespacedName{Namespace: cl.ns, Name: name}, &p); err != nil {
		return ""
	}
	return p.Status.Phase
}

func (cl *cluster) acceptedCount() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return len(cl.accepted)
}

// checkDelivered fails t unless the sinks hold exactly the accepted events.
func (cl *cluster) checkDelivered(t *testing.T) {
	t.Helper()
	got := cl.sink.ids()
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for id := range cl.accepted {
		if !got[id] {
			t.Errorf("accepted event %s is not at the sink", id)
		}
	}
	for id := range got {
		if !cl.accepted[id] {
			t.Errorf("event %s at the sink was never accepted", id)
		}
	}
}

// until is a condition for EventuallyWithin: get() == want.
func until[T comparable](get func() T, want T) func() (bool, string) {
	return func() (bool, string) {
		got := get()
		return got == want, fmt.Sprintf("%v, want %v", got, want)
	}
}

// lines collects the log sinks' output.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// distinctIDs counts the distinct event ids the sinks wrote.
func (l *lines) distinctIDs() int { return len(l.ids()) }

// ids are the event ids the sinks wrote.
func (l *lines) ids() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	for sc.Scan() {
		var e struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.ID != "" {
			ids[e.ID] = true
		}
	}
	return ids
}

// TestSQSSourceOnKubernetes: a Pipeline applied to the cluster with an SQS
// source (a real emulator) runs in the activator: every message sent to
// the queue reaches the sink, and the source vertex reports the queue's
// depth in its status.
func TestSQSSourceOnKubernetes(t *testing.T) {
	em := sqsbrokers.StartFauxqs(t)
	sqs := em.Client(t)
	ctx := context.Background()
	q, err := sqs.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	// The activator finds credentials the usual way: here, its environment.
	t.Setenv("AWS_ACCESS_KEY_ID", sqsbrokers.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sqsbrokers.SecretAccessKey)
	t.Setenv("AWS_REGION", em.Region)
	cl := start(t)
	p := pipelineObject("q")
	p.Spec.Vertices[0].Source = &v1alpha1.Source{SQS: &v1alpha1.SQSSource{QueueURL: *q.QueueUrl, Endpoint: em.Endpoint}}
	cl.create(t, p)

	const n = 30
	for i := range n {
		if _, err := sqs.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(fmt.Sprintf("m-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	envtest.EventuallyWithin(t, 90*time.Second, fmt.Sprintf("%d messages at the sink", n), until(cl.sink.distinctIDs, n))
	envtest.EventuallyWithin(t, 30*time.Second, "the source vertex's backlog reported as 0", func() (bool, string) {
		var v v1alpha1.Vertex
		if err := cl.c.Get(ctx, types.NamespacedName{Namespace: cl.ns, Name: "q-in"}, &v); err != nil {
			return false, err.Error()
		}
		return v.Status.BacklogTime != nil && v.Status.Backlog == 0, fmt.Sprintf("backlog %d at %v", v.Status.Backlog, v.Status.BacklogTime)
	})
}
