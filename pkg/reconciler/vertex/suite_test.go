package vertex

import (
	"testing"

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
	return env.UserWithRules(t, ns, "vertex-controller-"+ns, envtest.RBACMarkers(t, "controller.go"))
}
