package vertex

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/freshetproj/freshet/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }

// startManager runs the Vertex reconciler against env until the test ends,
// watching namespace ns only, as a user granted in ns exactly what the
// reconciler's RBAC markers list (and so nothing on Pipelines or
// Functions). It returns that user's REST config.
func startManager(t *testing.T, env *envtest.Env, ns string) *rest.Config {
	t.Helper()
	cfg := markerUser(t, env, ns)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		// One manager per test, each with a "vertex" controller.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	return cfg
}

// markerUser provisions a user bound in ns to a Role made from the
// +kubebuilder:rbac markers of controller.go, and returns its REST config.
func markerUser(t *testing.T, env *envtest.Env, ns string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	name := "vertex-controller-" + ns
	cfg, err := env.UserKubeconfig(filepath.Join(t.TempDir(), "kubeconfig"), name)
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "vertex-controller", Namespace: ns},
		Rules:      markerRules(t),
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vertex-controller", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
	}
	if err := env.Client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// markerRules reads the RBAC markers of controller.go as policy rules.
func markerRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	f, err := os.Open("controller.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []rbacv1.PolicyRule
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "// +kubebuilder:rbac:")
		if !ok {
			continue
		}
		var rule rbacv1.PolicyRule
		for _, kv := range strings.Split(line, ",") {
			k, v, _ := strings.Cut(kv, "=")
			values := strings.Split(strings.Trim(v, `"`), ";")
			switch k {
			case "groups":
				rule.APIGroups = values
			case "resources":
				rule.Resources = values
			case "verbs":
				rule.Verbs = values
			default:
				t.Fatalf("unexpected RBAC marker field %q in %q", k, line)
			}
		}
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatal("controller.go has no +kubebuilder:rbac markers")
	}
	return rules
}

// eventually polls cond until it holds, failing the test after 30s with
// cond's last message.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	t.Fatalf("timed out waiting for %s: %s", what, last)
}
