package podrun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/freshetproj/freshet/internal/poll"
)

var (
	// testServer is the built internal/testserver program.
	testServer string
	// testDir holds it and the tests' mount points (removed at the end).
	testDir string
)

// mountPoint is a host path for a test's mountPath: mount targets are
// created on the host, so keep them in testDir.
func mountPoint(name string) string { return filepath.Join(testDir, "mnt", name) }

func TestMain(m *testing.M) {
	MaybeShim() // this test binary is the Pods' mount shim
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	testDir, err = os.MkdirTemp("", "podrun-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(testDir)
	testServer = filepath.Join(testDir, "testserver")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	build := exec.Command(gobin, "build", "-o", testServer, "./internal/testserver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the test server:", err)
		return 1
	}
	return m.Run()
}

// fakeCluster serves ConfigMaps and Secrets from maps and mints fake tokens.
// It stands in for the API server: the node's client is another package's.
type fakeCluster struct {
	mu         sync.Mutex
	configMaps map[string]*corev1.ConfigMap // by namespace/name
	secrets    map[string]*corev1.Secret
	tokens     []string // audience/expiration of every request
}

func (f *fakeCluster) ConfigMap(_ context.Context, ns, name string) (*corev1.ConfigMap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cm, ok := f.configMaps[ns+"/"+name]; ok {
		return cm.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (f *fakeCluster) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.secrets[ns+"/"+name]; ok {
		return s.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func (f *fakeCluster) Token(_ context.Context, pod *corev1.Pod, audience string, exp int64) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, fmt.Sprintf("%s/%d", audience, exp))
	return "token-for-" + pod.Name, nil
}

func (f *fakeCluster) tokenRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tokens)
}

func (f *fakeCluster) setConfigMap(cm *corev1.ConfigMap) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.configMaps == nil {
		f.configMaps = map[string]*corev1.ConfigMap{}
	}
	f.configMaps[cm.Namespace+"/"+cm.Name] = cm
}

func (f *fakeCluster) setSecret(s *corev1.Secret) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.secrets == nil {
		f.secrets = map[string]*corev1.Secret{}
	}
	f.secrets[s.Namespace+"/"+s.Name] = s
}

// testConfig is a node config whose only image, "testserver", runs the test
// server.
func testConfig(t *testing.T, cl *fakeCluster) *Config {
	t.Helper()
	return &Config{
		Images:            map[string]Image{"example.com/testserver": {Entrypoint: []string{testServer}, Env: []string{"FROM_IMAGE=yes", "PORT=8080"}}},
		Dir:               t.TempDir(),
		NodeName:          "process-node",
		NodeIP:            "127.0.0.1",
		APIServer:         "127.0.0.1:6443",
		Cluster:           cl,
		RestartBackoff:    100 * time.Millisecond,
		MaxRestartBackoff: 400 * time.Millisecond,
		Log:               slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// testPod is a Pod with one container "app" running the test server on 8080.
func testPod(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			NodeName:                      "process-node",
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: new(int64(1)),
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "example.com/testserver:v1",
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// start runs pod and stops it when the test ends.
func start(t *testing.T, cfg *Config, pod *corev1.Pod, ip string) *Pod {
	t.Helper()
	p, err := Run(context.Background(), cfg, pod, ip)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), 0) })
	return p
}

// failedAsWanted is for table tests whose cases may want an error: it fails
// t unless err contains want, or, when want is "", unless err is nil. It
// reports whether the case wanted (and got) an error, leaving nothing more
// to check.
func failedAsWanted(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v, want one containing %q", err, want)
	}
	return true
}

// waitLong is how long a test waits for a process to do what it should:
// generous, for a busy machine.
const waitLong = 45 * time.Second

// get fetches url; status -1 means no answer.
func get(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mustGet waits until url answers 200 and returns the body.
func mustGet(t *testing.T, url string) string {
	t.Helper()
	var body string
	poll.Until(t, waitLong, "GET "+url+" 200", func() string {
		code, b := get(url)
		if code != http.StatusOK {
			return fmt.Sprintf("GET %s: %d %s", url, code, b)
		}
		body = b
		return ""
	})
	return body
}

// condition finds a Pod condition.
func condition(st corev1.PodStatus, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}
