package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
)

// The identity the controller's pods have: its ServiceAccount's user name
// and groups, as the API server's RBAC authorizer sees them.
const controllerUser = "system:serviceaccount:freshet-system:freshet-controller"

var controllerGroups = []string{"system:serviceaccounts", "system:serviceaccounts:freshet-system", "system:authenticated"}

// TestControllerRunsWithItsRBAC runs the real controller binary as the
// controller's ServiceAccount, with only the permissions config/default
// gives it, and applies the Kubernetes samples: it takes the leader Lease,
// reconciles the Functions and the Pipeline, and is never refused anything.
func TestControllerRunsWithItsRBAC(t *testing.T) {
	env := installed(t)
	bin := buildController(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if _, err := env.UserKubeconfig(kubeconfig, controllerUser, controllerGroups...); err != nil {
		t.Fatal(err)
	}
	health := freeAddr(t)
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "--kubeconfig="+kubeconfig, "--metrics-bind-address=0",
		"--health-probe-bind-address="+health, "--log-level=debug")
	cmd.Env = append(os.Environ(), "POD_NAMESPACE=freshet-system", "KUBECONFIG=")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("did not stop within 40s of SIGTERM")
		}
	}
	t.Cleanup(func() {
		_ = stop()
		if t.Failed() {
			out := logs.String()
			t.Logf("controller output (the last 16 KiB):\n%s", out[max(0, len(out)-16<<10):])
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eventually(t, ctx, "the controller answers /readyz", func() error {
		resp, err := http.Get("http://" + health + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})

	ns := env.Namespace(t)
	if _, err := env.Kubectl(ctx, "apply", "-n", ns, "-f", repoPath("samples/kubernetes")); err != nil {
		t.Fatal(err)
	}
	c := env.Client

	eventually(t, ctx, "the controller holds the leader Lease", func() error {
		var lease coordinationv1.Lease
		if err := c.Get(ctx, client.ObjectKey{Namespace: "freshet-system", Name: "freshet-controller-leader"}, &lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return errors.New("no holder")
		}
		return nil
	})

	wantURL := "http://freshet-activator.freshet-system.svc.cluster.local/functions/" + ns + "/sentiment"
	eventually(t, ctx, "Function sentiment is Ready at the activator's address", func() error {
		var fn v1alpha1.Function
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "sentiment"}, &fn); err != nil {
			return err
		}
		if fn.Status.Address == nil || fn.Status.Address.URL != wantURL {
			return fmt.Errorf("address %+v", fn.Status.Address)
		}
		if !meta.IsStatusConditionTrue(fn.Status.Conditions, v1alpha1.ConditionReady) {
			return fmt.Errorf("conditions %+v", fn.Status.Conditions)
		}
		return nil
	})
	for name, replicas := range map[string]int32{"sentiment": 0, "enrich": 1} {
		eventually(t, ctx, "Function "+name+" has its Deployment and Service", func() error {
			var dep appsv1.Deployment
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &dep); err != nil {
				return err
			}
			if dep.Spec.Replicas == nil || *dep.Spec.Replicas != replicas {
				return fmt.Errorf("the Deployment runs %v replicas, want %d", dep.Spec.Replicas, replicas)
			}
			return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.Service{})
		})
	}
	out, err := env.Kubectl(ctx, "get", "fn", "sentiment", "-n", ns)
	if err != nil {
		t.Fatal(err)
	}
	// Empty columns (REPLICAS and BACKLOG are 0) print as blanks.
	if row := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1]); len(row) < 3 || row[1] != "True" || !slices.Contains(row, wantURL) {
		t.Errorf("kubectl get fn sentiment:\n%s\nwant READY True and URL %s", out, wantURL)
	}

	eventually(t, ctx, "Pipeline enrich-classify has its six Vertices", func() error {
		var vs v1alpha1.VertexList
		if err := c.List(ctx, &vs, client.InNamespace(ns), client.MatchingLabels{resources.PipelineLabelKey: "enrich-classify"}); err != nil {
			return err
		}
		if len(vs.Items) != 6 {
			return fmt.Errorf("%d Vertices", len(vs.Items))
		}
		var pl v1alpha1.Pipeline
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "enrich-classify"}, &pl); err != nil {
			return err
		}
		if pl.Status.Vertices != 6 {
			return fmt.Errorf("status.vertices = %d", pl.Status.Vertices)
		}
		return nil
	})
	for _, vertex := range []string{"enrich", "classify"} {
		name := resources.VertexName("enrich-classify", vertex)
		eventually(t, ctx, "function vertex "+vertex+" has a Deployment", func() error {
			return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &appsv1.Deployment{})
		})
	}

	if err := stop(); err != nil {
		t.Errorf("controller exit: %v", err)
	}
	if s := logs.String(); strings.Contains(strings.ToLower(s), "forbidden") {
		t.Errorf("the controller was refused something its RBAC should grant (search the output for \"forbidden\")")
	}
}

// buildController builds cmd/controller into a temporary directory.
func buildController(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "freshet-controller")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/controller")
	cmd.Dir = repoPath(".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/controller: %v\n%s", err, out)
	}
	return bin
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// eventually retries check every 100ms until it succeeds or ctx ends,
// then fails t with what and check's last error.
func eventually(t *testing.T, ctx context.Context, what string, check func() error) {
	t.Helper()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within the time limit: %v", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the process's two output streams.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
