package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/test/envtest"
)

// TestRBACMarkersSuffice runs the reconciler as a user granted only what
// the +kubebuilder:rbac markers in controller.go say, through a pipeline's
// life: Function refs, a sink naming a Function, pause, and a drained
// deletion with its Event.
func TestRBACMarkersSuffice(t *testing.T) {
	env := envtest.Shared(t)
	rules := envtest.RBACMarkers(t, "controller.go")
	name := "freshet-pipeline-" + strings.ToLower(t.Name())
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg, err := env.UserKubeconfig(kubeconfig, name)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
	}

	s := startAs(t, env, cfg)
	store := newFunction("store", "ghcr.io/example/store:1")
	s.create(store)
	s.status(store, func() { store.Status.Address = &v1alpha1.Addressable{URL: "http://activator/functions/x/store"} })
	s.create(newFunction("tok", "ghcr.io/example/tok:1"))
	ref := &v1alpha1.KReference{APIVersion: "freshet.dev/v1alpha1", Kind: "Function", Name: "store"}
	s.create(newPipeline("etl", []v1alpha1.PipelineVertex{source("in"), functionRef("fn", "tok"), httpSink("out", v1alpha1.Destination{Ref: ref})},
		edge("in", "fn"), edge("fn", "out")))
	s.waitVertices("etl", "the Vertices", func(v *v1alpha1.Vertex) bool {
		return v.Spec.Sink == nil || v.Spec.Sink.HTTP.URI == "http://activator/functions/x/store"
	}, allVertices...)
	s.report("etl", v1alpha1.PhaseRunning, allVertices...)
	s.waitReady("etl", v1alpha1.PhaseRunning, ReasonRunning)

	p := s.pipeline("etl")
	s.update(p, func() { p.Spec.Lifecycle.DesiredPhase = v1alpha1.PhasePaused })
	s.waitVertices("etl", "Paused in every Vertex's spec", desiring(v1alpha1.PhasePaused), allVertices...)
	s.report("etl", v1alpha1.PhasePaused, allVertices...)
	s.waitReady("etl", v1alpha1.PhasePaused, ReasonPaused)
	if err := s.c.Delete(s.ctx, p); err != nil {
		t.Fatal(err)
	}
	s.waitGone("etl", EventDrained)
}
