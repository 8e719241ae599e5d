package envtest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	freshetv1alpha1 "github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestFunctionRoundTrip(t *testing.T) {
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	c := ctx(t)

	fn := &freshetv1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: ns},
		Spec: freshetv1alpha1.FunctionSpec{
			Container: freshetv1alpha1.Container{Image: "example.com/echo:1", Port: 8080},
			Replicas:  ptr.To[int32](2),
		},
	}
	if err := env.Client.Create(c, fn); err != nil {
		t.Fatalf("create Function: %v", err)
	}
	var got freshetv1alpha1.Function
	if err := env.Client.Get(c, client.ObjectKeyFromObject(fn), &got); err != nil {
		t.Fatalf("get Function: %v", err)
	}
	if got.Spec.Container.Image != "example.com/echo:1" || got.Spec.Container.Port != 8080 ||
		got.Spec.Replicas == nil || *got.Spec.Replicas != 2 {
		t.Errorf("read back spec %+v, want image example.com/echo:1, port 8080, replicas 2", got.Spec)
	}
	if got.UID == "" || got.Generation != 1 {
		t.Errorf("uid %q generation %d: not stored by a real API server?", got.UID, got.Generation)
	}

	// The status subresource exists: a status update does not bump generation.
	got.Status.Backlog = 7
	if err := env.Client.Status().Update(c, &got); err != nil {
		t.Fatalf("update status: %v", err)
	}
	var after freshetv1alpha1.Function
	if err := env.Client.Get(c, client.ObjectKeyFromObject(fn), &after); err != nil {
		t.Fatal(err)
	}
	if after.Status.Backlog != 7 || after.Generation != 1 {
		t.Errorf("after status update: backlog %d generation %d, want 7 and 1", after.Status.Backlog, after.Generation)
	}

	// Unstructured works too, for tests without the Go types.
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(freshetv1alpha1.GroupVersion.WithKind("Function"))
	if err := env.Client.Get(c, client.ObjectKeyFromObject(fn), u); err != nil {
		t.Fatalf("get unstructured: %v", err)
	}
	if img, _, _ := unstructured.NestedString(u.Object, "spec", "container", "image"); img != "example.com/echo:1" {
		t.Errorf("unstructured image %q", img)
	}
}

// The CRD's CEL rules run in the real API server.
func TestFunctionValidation(t *testing.T) {
	env := envtest.Shared(t)
	fn := &freshetv1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "empty", Namespace: env.Namespace(t)},
	}
	err := env.Client.Create(ctx(t), fn)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "container needs an image or a command") {
		t.Fatalf("create Function without image or command: got %v, want Invalid: container needs an image or a command", err)
	}
}

func TestKubectl(t *testing.T) {
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	c := ctx(t)

	out, err := env.Kubectl(c, "api-resources", "--api-group=freshet.dev", "--no-headers")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"functions", "fn", "freshet.dev/v1alpha1", "Function", "pipelines", "vertices"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl api-resources lacks %q:\n%s", want, out)
		}
	}

	manifest := fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: applied
  namespace: %s
spec:
  container:
    image: example.com/applied:2
`, ns)
	if out, err = env.KubectlApply(c, manifest); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "function.freshet.dev/applied created") {
		t.Errorf("kubectl apply printed %q", out)
	}
	// Applying again is a no-op.
	if out, err = env.KubectlApply(c, manifest); err != nil || !strings.Contains(out, "unchanged") {
		t.Errorf("second kubectl apply: %q, %v", out, err)
	}

	out, err = env.Kubectl(c, "get", "fn", "-n", ns, "-o", "name")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "function.freshet.dev/applied" {
		t.Errorf("kubectl get fn -o name = %q", out)
	}
	out, err = env.Kubectl(c, "get", "functions.freshet.dev", "applied", "-n", ns)
	if err != nil {
		t.Fatal(err)
	}
	// The CRD's printer columns.
	if header := strings.Fields(strings.SplitN(out, "\n", 2)[0]); strings.Join(header, " ") != "NAME READY REPLICAS BACKLOG URL AGE" {
		t.Errorf("kubectl get header %q, want the CRD's printer columns", header)
	}
	out, err = env.Kubectl(c, "get", "fn", "applied", "-n", ns, "-o", "jsonpath={.spec.container.image}")
	if err != nil || out != "example.com/applied:2" {
		t.Errorf("kubectl get -o jsonpath: %q, %v", out, err)
	}

	// The kubeconfig works for clients other than kubectl too.
	dst := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(dst); err != nil {
		t.Fatal(err)
	}
	if out, err = env.Kubectl(c, "--kubeconfig="+dst, "get", "ns", ns, "-o", "name"); err != nil || strings.TrimSpace(out) != "namespace/"+ns {
		t.Errorf("kubectl with the written kubeconfig: %q, %v", out, err)
	}
}

// The binaries report a real version (set with -ldflags by
// hack/test-binaries.sh), so version-gated client code behaves.
func TestServerVersion(t *testing.T) {
	env := envtest.Shared(t)
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.Major != "1" || v.Minor == "" || !strings.HasPrefix(v.GitVersion, "v1."+v.Minor+".") {
		t.Errorf("server version %+v, want a real v1.x.y", v)
	}
	out, err := env.Kubectl(ctx(t), "version")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Client Version: " + v.GitVersion; !strings.Contains(out, want) {
		t.Errorf("kubectl version lacks %q:\n%s", want, out)
	}
}

// An unprivileged user is subject to RBAC, so tests can check permissions.
func TestUnprivilegedUser(t *testing.T) {
	env := envtest.Shared(t)
	cfg, err := env.UserKubeconfig(filepath.Join(t.TempDir(), "kubeconfig"), "nobody")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().Namespaces().List(ctx(t), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("list namespaces as an unprivileged user: %v, want Forbidden", err)
	}
}

// Start gives a test a private server with the CRDs it names.
func TestStartPrivate(t *testing.T) {
	crds, err := envtest.DefaultCRDDir()
	if err != nil {
		t.Fatal(err)
	}
	env := envtest.Start(t, filepath.Join(crds, "freshet.dev_functions.yaml"))
	var list freshetv1alpha1.FunctionList
	if err := env.Client.List(ctx(t), &list); err != nil {
		t.Fatalf("list Functions: %v", err)
	}
	if len(list.Items) != 0 {
		t.Errorf("a private server has %d Functions, want 0", len(list.Items))
	}
	if err := env.Client.List(ctx(t), &freshetv1alpha1.PipelineList{}); err == nil {
		t.Error("listing Pipelines succeeded, but only the Function CRD was installed")
	}
	if _, err := os.Stat(env.Kubeconfig); err != nil {
		t.Error(err)
	}
}
