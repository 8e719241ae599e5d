package install

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestApplyDefault installs config/default and applies it again, client-
// side and then server-side: every apply succeeds and a repeated one
// changes nothing.
func TestApplyDefault(t *testing.T) {
	env := installed(t) // the first client-side apply
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := repoPath("config/default")

	before := resourceVersions(t, env.Kubectl, ctx, dir)
	if len(before) < 15 {
		t.Fatalf("config/default installed %d objects, want at least 15: %v", len(before), before)
	}
	out, err := env.Kubectl(ctx, "apply", "-k", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasSuffix(line, " unchanged") {
			t.Errorf("second client-side apply changed something: %q", line)
		}
	}
	if diff := cmp.Diff(before, resourceVersions(t, env.Kubectl, ctx, dir)); diff != "" {
		t.Errorf("second client-side apply wrote objects (resourceVersions -before +after):\n%s", diff)
	}

	// Server-side: the first apply takes the fields over from client-side
	// apply (which may write managedFields); the next writes nothing.
	ssa := []string{"apply", "--server-side", "--field-manager=freshet-install", "-k", dir}
	if _, err := env.Kubectl(ctx, ssa...); err != nil {
		t.Fatal(err)
	}
	before = resourceVersions(t, env.Kubectl, ctx, dir)
	if _, err := env.Kubectl(ctx, ssa...); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, resourceVersions(t, env.Kubectl, ctx, dir)); diff != "" {
		t.Errorf("second server-side apply wrote objects (resourceVersions -before +after):\n%s", diff)
	}
}

// resourceVersions maps "<kind>/<namespace>/<name>" of every object in the
// kustomization dir to its live resourceVersion.
func resourceVersions(t *testing.T, kubectl func(context.Context, ...string) (string, error), ctx context.Context, dir string) map[string]string {
	t.Helper()
	out, err := kubectl(ctx, "get", "-k", dir, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			Kind     string
			Metadata struct{ Namespace, Name, ResourceVersion string }
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("kubectl get -k: %v", err)
	}
	rv := map[string]string{}
	for _, o := range list.Items {
		rv[o.Kind+"/"+o.Metadata.Namespace+"/"+o.Metadata.Name] = o.Metadata.ResourceVersion
	}
	return rv
}
