// Package envtest runs a real Kubernetes API server for tests: etcd and
// kube-apiserver started by controller-runtime's envtest, with the Freshet
// CRDs installed, plus a kubectl and a kubeconfig for tests that run
// `kubectl apply`.
//
// The binaries come from KUBEBUILDER_ASSETS when it holds them (make test
// sets it), or else from hack/test-binaries.sh, which builds them from the Go
// module proxy once and caches them; so `go test ./...` needs no setup, though
// the very first build takes several minutes. If the binaries cannot be had
// the test fails, saying what is missing: it never skips.
//
// Starting costs a few seconds, so share one API server per test package:
//
//	func TestMain(m *testing.M) { envtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		env := envtest.Shared(t)
//		// env.Client, env.Config, env.Kubectl(...), env.Kubeconfig
//	}
//
// Tests sharing one server should work in namespaces of their own
// (env.Namespace). Start gives a test a private server instead.
package envtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"

	freshetv1alpha1 "github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"

	"github.com/freshetproj/freshet/test/internal/child"
)

// Binaries are the programs this package needs in its assets directory.
var Binaries = []string{"etcd", "kube-apiserver", "kubectl"}

// Options configure New. The zero value installs the Freshet CRDs.
type Options struct {
	// CRDDirs are directories (or files) of CRD manifests to install. Empty
	// means the repository's config/crd/bases.
	CRDDirs []string
	// Scheme is the client's scheme. Nil means Scheme().
	Scheme *k8sruntime.Scheme
	// APIServerArgs are extra kube-apiserver flags, e.g. "feature-gates" or
	// "v", each with its values.
	APIServerArgs map[string][]string
}

// Env is a running API server.
type Env struct {
	// Config reaches the API server as an admin (group system:masters).
	Config *rest.Config
	// Client is a controller-runtime client for Config with Scheme.
	Client client.Client
	// Scheme holds the built-in types and Freshet's.
	Scheme *k8sruntime.Scheme
	// KubectlPath is the kubectl binary matching the API server.
	KubectlPath string
	// Kubeconfig is the path of a kubeconfig file for Config's admin user.
	Kubeconfig string
	// AssetsDir holds etcd, kube-apiserver and kubectl.
	AssetsDir string

	env      *crenvtest.Environment
	dir      string
	logs     *child.TailBuffer
	stopOnce sync.Once
	stopErr  error
}

// Scheme returns a new scheme with client-go's built-in types, the
// apiextensions types and the Freshet API.
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(freshetv1alpha1.AddToScheme(s))
	return s
}

// New starts etcd and kube-apiserver and installs the CRDs. Call Stop when
// done. Most tests want Start or Shared instead.
func New(opts Options) (*Env, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	crdDirs := opts.CRDDirs
	if len(crdDirs) == 0 {
		d, err := DefaultCRDDir()
		if err != nil {
			return nil, err
		}
		crdDirs = []string{d}
	}
	scheme := opts.Scheme
	if scheme == nil {
		scheme = Scheme()
	}
	dir, err := os.MkdirTemp("", "freshet-envtest-")
	if err != nil {
		return nil, err
	}

	logs := &child.TailBuffer{Max: 16 << 10}
	env := &crenvtest.Environment{
		Scheme:                   scheme,
		CRDDirectoryPaths:        crdDirs,
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	// Explicit paths, so a stray TEST_ASSET_* or KUBEBUILDER_ASSETS naming
	// other binaries cannot mix versions.
	api := env.ControlPlane.GetAPIServer()
	api.Path = filepath.Join(assets, "kube-apiserver")
	api.Out, api.Err = logs, logs
	for flag, values := range opts.APIServerArgs {
		api.Configure().Set(flag, values...)
	}
	env.ControlPlane.Etcd = &crenvtest.Etcd{Path: filepath.Join(assets, "etcd"), Out: logs, Err: logs}
	env.ControlPlane.KubectlPath = filepath.Join(assets, "kubectl")

	e := &Env{
		Scheme:      scheme,
		KubectlPath: env.ControlPlane.KubectlPath,
		AssetsDir:   assets,
		env:         env,
		dir:         dir,
		logs:        logs,
	}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("envtest: starting the API server (binaries in %s, CRDs from %s): %w\n--- last control-plane output ---\n%s",
			assets, strings.Join(crdDirs, ", "), err, logs.String())
	}
	e.Config = cfg
	if e.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("envtest: client: %w", err)
	}
	e.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("envtest: writing kubeconfig: %w", err)
	}
	return e, nil
}

// Stop stops the API server and etcd and removes their files. It is safe
// to call more than once.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		e.stopErr = e.env.Stop()
		if err := os.RemoveAll(e.dir); err != nil && e.stopErr == nil {
			e.stopErr = err
		}
	})
	return e.stopErr
}

// Environment is the underlying controller-runtime environment, for what
// this package does not wrap (AddUser, WebhookInstallOptions, ...).
func (e *Env) Environment() *crenvtest.Environment { return e.env }

// KubeconfigBytes is the admin kubeconfig (also written to Kubeconfig).
func (e *Env) KubeconfigBytes() []byte { return bytes.Clone(e.env.KubeConfig) }

// WriteKubeconfig writes the admin kubeconfig to path, e.g. for a process
// under test that takes --kubeconfig.
func (e *Env) WriteKubeconfig(path string) error {
	return os.WriteFile(path, e.env.KubeConfig, 0o600)
}

// UserKubeconfig provisions a user with the given groups (none for an
// unprivileged user, to test RBAC) and writes a kubeconfig for it to path.
// It returns that user's REST config.
func (e *Env) UserKubeconfig(path, name string, groups ...string) (*rest.Config, error) {
	u, err := e.env.AddUser(crenvtest.User{Name: name, Groups: groups}, &rest.Config{QPS: 1000, Burst: 2000})
	if err != nil {
		return nil, err
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return nil, err
	}
	return u.Config(), os.WriteFile(path, kc, 0o600)
}

// KubectlCmd returns an exec.Cmd running kubectl against this API server with
// the given arguments, for tests that need stdin or their own handling.
func (e *Env) KubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	return child.KubectlCmd(ctx, e.KubectlPath, e.Kubeconfig, e.dir, args...)
}

// Kubectl runs kubectl against this API server and returns its standard
// output. On failure the error includes standard error.
func (e *Env) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := e.KubectlCmd(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// KubectlApply runs `kubectl apply -f -` with manifest on standard input.
func (e *Env) KubectlApply(ctx context.Context, manifest string, args ...string) (string, error) {
	cmd := e.KubectlCmd(ctx, append([]string{"apply", "-f", "-"}, args...)...)
	cmd.Stdin = strings.NewReader(manifest)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl apply: %w\n%s", err, stderr.String())
	}
	return stdout.String(), nil
}

// Namespace creates a namespace with a generated name for t and deletes it
// when t ends. (Without a kube-controller-manager the namespace only goes
// to Terminating, which is enough to keep tests apart.)
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.Create(ctx, ns); err != nil {
		t.Fatalf("envtest: creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.Client.Delete(ctx, ns)
	})
	return ns.Name
}

// Start starts a private API server for t with the CRDs in crdDirs (default
// config/crd/bases) and stops it when t ends. It fails t if the server
// cannot start, for example when the binaries are missing.
func Start(t testing.TB, crdDirs ...string) *Env {
	t.Helper()
	e, err := New(Options{CRDDirs: crdDirs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("envtest: stop: %v", err)
		}
	})
	return e
}

var shared struct {
	sync.Mutex
	main    bool // Main is running the tests
	started bool
	env     *Env
	err     error
}

// Main runs the package's tests (call it from TestMain) and stops the
// shared API server afterwards, if a test started one. It exits the process.
func Main(m *testing.M) {
	os.Exit(RunMain(m))
}

// RunMain is Main without the exit: it returns m.Run's code, so TestMain
// can do more before exiting.
func RunMain(m *testing.M) int {
	shared.Lock()
	shared.main = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	shared.main = false
	if shared.env != nil {
		if err := shared.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "envtest: stopping the shared API server: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		shared.env = nil
	}
	return code
}

// Shared returns the package's shared API server (Freshet CRDs installed),
// starting it on first use; the package's TestMain must call Main or
// RunMain, which stops it. If it cannot start, every test asking for it
// fails with the reason.
func Shared(t testing.TB) *Env {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if !shared.main {
		t.Fatal("envtest.Shared needs the package's TestMain to call envtest.Main(m) (or RunMain), which stops the server; use envtest.Start for a per-test server")
	}
	if !shared.started {
		shared.started = true
		shared.env, shared.err = New(Options{})
		if shared.err != nil {
			t.Fatal(shared.err)
		}
	}
	if shared.err != nil {
		t.Fatalf("envtest: the shared API server failed to start (the first test asking for it has the details): %v", firstLine(shared.err))
	}
	return shared.env
}

var assets struct {
	once sync.Once
	dir  string
	err  error
}

// AssetsDir returns the directory holding etcd, kube-apiserver and kubectl:
// KUBEBUILDER_ASSETS if it has all of them, or else the directory
// hack/test-binaries.sh prints, building the binaries first if they are not
// cached (see child.KubeBinaries). The result is computed once per process.
func AssetsDir() (string, error) {
	assets.once.Do(func() { assets.dir, assets.err = child.KubeBinaries("envtest", Binaries) })
	return assets.dir, assets.err
}

// RepoRoot returns the root of the Freshet repository.
func RepoRoot() (string, error) { return child.RepoRoot() }

// DefaultCRDDir is the repository's config/crd/bases.
func DefaultCRDDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("envtest: finding config/crd/bases: %w", err)
	}
	return filepath.Join(root, "config", "crd", "bases"), nil
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
