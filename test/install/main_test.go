// Package install checks Freshet's install manifests against a real
// kube-apiserver: `kubectl apply -k config/default` installs everything
// (CRDs included: the server starts without them) and is idempotent, the
// Kubernetes samples apply, the RBAC grants no more than the code uses, and
// the controller runs with exactly the permissions config/ gives it.
package install

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshetproj/freshet/test/envtest"
)

// The server is shared by the package's tests, and config/default is
// applied to it once (by the first test that needs it).
var server struct {
	env *envtest.Env
	err error

	installOnce sync.Once
	installErr  error
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// An empty CRD directory: installing the CRDs is config/default's job.
	noCRDs, err := os.MkdirTemp("", "freshet-install-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(noCRDs)
	server.env, server.err = envtest.New(envtest.Options{CRDDirs: []string{noCRDs}})
	code := m.Run()
	if server.env != nil {
		if err := server.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the API server: %v\n", err)
			return 1
		}
	}
	return code
}

// apiServer is the package's API server, with nothing installed in it
// unless a test has called installed.
func apiServer(t *testing.T) *envtest.Env {
	t.Helper()
	if server.err != nil {
		t.Fatal(server.err)
	}
	return server.env
}

// installed is the package's API server with config/default applied (by
// kubectl, client-side) and its CRDs established.
func installed(t *testing.T) *envtest.Env {
	t.Helper()
	env := apiServer(t)
	server.installOnce.Do(func() { server.installErr = install(env) })
	if server.installErr != nil {
		t.Fatalf("installing config/default: %v", server.installErr)
	}
	return env
}

func install(env *envtest.Env) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := env.Kubectl(ctx, "apply", "-k", repoPath("config/default")); err != nil {
		return err
	}
	_, err := env.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/functions.freshet.dev", "crd/pipelines.freshet.dev", "crd/vertices.freshet.dev")
	return err
}

// repoPath is the absolute path of rel in the repository.
func repoPath(rel string) string {
	root, err := envtest.RepoRoot()
	if err != nil {
		panic(err)
	}
	return filepath.Join(root, filepath.FromSlash(rel))
}

// header is the first line of kubectl's table output, split into columns.
func header(out string) []string {
	line, _, _ := strings.Cut(out, "\n")
	return strings.Fields(line)
}
