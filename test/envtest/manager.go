package envtest

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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/freshetproj/freshet/internal/poll"
)

// RunManager starts a controller-runtime manager on cfg with the Freshet
// scheme, lets setup register reconcilers on it, and stops it when t ends
// (failing t if it stopped with an error). edit, if given, adjusts the
// options (a namespaced cache, say). Controller names may repeat across
// tests: each test gets its own manager.
func (e *Env) RunManager(t testing.TB, cfg *rest.Config, setup func(ctrl.Manager) error, edit ...func(*ctrl.Options)) ctrl.Manager {
	t.Helper()
	opts := ctrl.Options{
		Scheme:     e.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	}
	for _, f := range edit {
		f(&opts)
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := setup(mgr); err != nil {
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
	return mgr
}

// RBACMarkers reads the +kubebuilder:rbac markers of a Go source file as
// policy rules, so a test can run a reconciler with exactly the permissions
// its markers grant (and so prove the generated role suffices).
func RBACMarkers(t testing.TB, file string) []rbacv1.PolicyRule {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []rbacv1.PolicyRule
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		args, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "// +kubebuilder:rbac:")
		if !ok {
			continue
		}
		var rule rbacv1.PolicyRule
		for _, kv := range strings.Split(args, ",") {
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
				t.Fatalf("%s: marker %q: unknown key %q", file, args, k)
			}
		}
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatalf("%s has no rbac markers", file)
	}
	return rules
}

// Eventually polls cond every 50 ms until it holds, failing t after 30 s
// with cond's last message.
func Eventually(t testing.TB, what string, cond func() (ok bool, last string)) {
	t.Helper()
	EventuallyWithin(t, 30*time.Second, what, cond)
}

// EventuallyWithin is Eventually with a deadline of its own, for waits on
// real processes and several controllers in turn.
func EventuallyWithin(t testing.TB, within time.Duration, what string, cond func() (ok bool, last string)) {
	t.Helper()
	poll.Until(t, within, what, poll.Check(cond))
}

// UserWithRules provisions a user called name, bound in ns to a Role with
// rules, and returns its REST config: a test runs code with exactly these
// permissions (from RBACMarkers, say) to prove they suffice.
func (e *Env) UserWithRules(t testing.TB, ns, name string, rules []rbacv1.PolicyRule) *rest.Config {
	t.Helper()
	cfg, err := e.UserKubeconfig(filepath.Join(t.TempDir(), "kubeconfig"), name)
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Rules: rules}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, o := range []client.Object{role, binding} {
		if err := e.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// ClusterUserWithRules provisions a user called name, bound cluster-wide to
// a ClusterRole with rules (removed when t ends), and returns its REST
// config: for code that watches every namespace, such as the activator.
func (e *Env) ClusterUserWithRules(t testing.TB, name string, rules []rbacv1.PolicyRule) *rest.Config {
	t.Helper()
	cfg, err := e.UserKubeconfig(filepath.Join(t.TempDir(), "kubeconfig"), name)
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, o := range []client.Object{role, binding} {
		if err := e.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := client.IgnoreNotFound(e.Client.Delete(ctx, o)); err != nil {
				t.Errorf("delete %s: %v", o.GetName(), err)
			}
		})
	}
	return cfg
}
