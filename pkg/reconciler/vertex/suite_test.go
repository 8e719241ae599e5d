package vertex

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"

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
	env.RunManager(t, cfg, func(mgr ctrl.Manager) error {
		return (&Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)
	}, func(o *ctrl.Options) {
		o.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}}
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
		Rules:      envtest.RBACMarkers(t, "controller.go"),
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
