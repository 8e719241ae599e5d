package function

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }

const activator = "http://freshet-activator.freshet-system.svc"

// startManager runs the Function reconciler against the shared real API
// server until the test ends.
func startManager(t *testing.T, env *envtest.Env) {
	t.Helper()
	env.RunManager(t, env.Config, func(mgr ctrl.Manager) error {
		return (&Reconciler{Client: mgr.GetClient(), ActivatorURL: activator}).SetupWithManager(mgr)
	})
}

// TestFunctionBecomesWorkload: a Function gets a Deployment and a Service
// it owns, and a status with its address, generation and Ready condition;
// a change to the spec reaches the Deployment; the scaler's replicas are
// honoured within [min, max].
func TestFunctionBecomesWorkload(t *testing.T) {
	env := envtest.Shared(t)
	startManager(t, env)
	ctx := context.Background()
	ns := env.Namespace(t)
	fn := &v1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "scorer", Namespace: ns},
		Spec: v1alpha1.FunctionSpec{
			Container: v1alpha1.Container{Image: "ghcr.io/example/scorer:1"},
			Scale:     v1alpha1.Scale{Min: ptr.To[int32](0), Max: ptr.To[int32](3)},
		},
	}
	if err := env.Client.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(fn)
	var dep appsv1.Deployment
	envtest.Eventually(t, "the Deployment", func() (bool, string) {
		err := env.Client.Get(ctx, key, &dep)
		return err == nil, errString(err)
	})
	if !metav1.IsControlledBy(&dep, mustGet(t, env, key)) {
		t.Fatalf("deployment owners %+v do not name the Function as controller", dep.OwnerReferences)
	}
	if *dep.Spec.Replicas != 0 {
		t.Fatalf("deployment replicas %d, want min 0", *dep.Spec.Replicas)
	}
	// The reconciler applies the Service after the Deployment: wait for it.
	var svc corev1.Service
	envtest.Eventually(t, "the Service", func() (bool, string) {
		err := env.Client.Get(ctx, key, &svc)
		return err == nil, errString(err)
	})
	envtest.Eventually(t, "the status", func() (bool, string) {
		got := mustGet(t, env, key)
		ready := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		ok := got.Status.ObservedGeneration == got.Generation && ready != nil && ready.Status == metav1.ConditionTrue &&
			got.Status.Address != nil && got.Status.Address.URL == activator+"/functions/"+ns+"/scorer" &&
			got.Status.Selector == "freshet.dev/function=scorer"
		return ok, strings.TrimSpace(strings.Join([]string{got.Status.Selector, condString(ready)}, " "))
	})

	// The user changes the image; the scaler asks for 5 replicas (above max 3).
	// (The reconciler may write the status meanwhile: retry on conflict.)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := mustGet(t, env, key)
		got.Spec.Container.Image = "ghcr.io/example/scorer:2"
		got.Spec.Replicas = ptr.To[int32](5)
		return env.Client.Update(ctx, got)
	})
	if err != nil {
		t.Fatal(err)
	}
	envtest.Eventually(t, "the Deployment to follow the spec", func() (bool, string) {
		if err := env.Client.Get(ctx, key, &dep); err != nil {
			return false, err.Error()
		}
		img := dep.Spec.Template.Spec.Containers[0].Image
		return img == "ghcr.io/example/scorer:2" && *dep.Spec.Replicas == 3, img
	})
}

func mustGet(t *testing.T, env *envtest.Env, key client.ObjectKey) *v1alpha1.Function {
	t.Helper()
	var fn v1alpha1.Function
	if err := env.Client.Get(context.Background(), key, &fn); err != nil {
		t.Fatal(err)
	}
	return &fn
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func condString(c *metav1.Condition) string {
	if c == nil {
		return "no Ready condition"
	}
	return string(c.Status) + " " + c.Reason + " " + c.Message
}
