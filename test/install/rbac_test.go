package install

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The most each reconciler (pkg/reconciler/...) is meant to do, by
// "<apiGroup>/<resource>": the generated ClusterRole may grant these verbs
// and no others, on these resources and no others. Widening this needs a
// reason in the reconciler's RBAC markers.
var reconcilerGrants = map[string][]string{
	"freshet.dev/functions":            {"get", "list", "watch"},
	"freshet.dev/functions/status":     {"get", "update", "patch"},
	"freshet.dev/functions/finalizers": {"update"},
	"freshet.dev/pipelines":            {"get", "list", "watch", "update", "patch"}, // update: its finalizer
	"freshet.dev/pipelines/status":     {"get", "update", "patch"},
	"freshet.dev/pipelines/finalizers": {"update"},
	"freshet.dev/vertices":             {"get", "list", "watch", "create", "update", "patch", "delete"},
	"freshet.dev/vertices/status":      {"get", "update", "patch"},
	"freshet.dev/vertices/finalizers":  {"update"},
	// Children are created and updated, never deleted: the garbage
	// collector does that through their owner references.
	"apps/deployments": {"get", "list", "watch", "create", "update", "patch"},
	"/services":        {"get", "list", "watch", "create", "update", "patch"},
	// The Pipeline reconciler records deletions as Events.
	"events.k8s.io/events": {"create", "patch"},
	// Knative Addressables an http sink may name: read for their address.
	"serving.knative.dev/services":           {"get"},
	"serving.knative.dev/routes":             {"get"},
	"eventing.knative.dev/brokers":           {"get"},
	"messaging.knative.dev/channels":         {"get"},
	"messaging.knative.dev/inmemorychannels": {"get"},
	"flows.knative.dev/sequences":            {"get"},
	"flows.knative.dev/parallels":            {"get"},
}

// Verbs no Freshet role may hold.
var forbiddenVerbs = []string{"*", "escalate", "bind", "impersonate", "deletecollection"}

// TestGeneratedRoleGrantsOnlyWhatReconcilersUse reads config/rbac/role.yaml
// (generated from the reconcilers' markers) and fails on any wildcard, any
// dangerous verb, and any grant beyond reconcilerGrants.
func TestGeneratedRoleGrantsOnlyWhatReconcilersUse(t *testing.T) {
	data, err := os.ReadFile(repoPath("config/rbac/role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	if role.Name != "freshet-controller" {
		t.Errorf("generated ClusterRole is %q, want freshet-controller", role.Name)
	}
	for _, r := range role.Rules {
		checkRule(t, "ClusterRole freshet-controller", r)
		if len(r.NonResourceURLs) > 0 {
			t.Errorf("rule %+v grants non-resource URLs", r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				allowed, ok := reconcilerGrants[g+"/"+res]
				if !ok {
					t.Errorf("rule grants %v on %s (group %q), which no reconciler uses", r.Verbs, res, g)
					continue
				}
				for _, v := range r.Verbs {
					if !slices.Contains(allowed, v) {
						t.Errorf("rule grants %s on %s (group %q); the reconcilers need at most %v", v, res, g, allowed)
					}
				}
			}
		}
	}
	// The Function reconciler's own grants, exactly.
	functionWants := map[string][]string{
		"freshet.dev/functions":            {"get", "list", "watch"},
		"freshet.dev/functions/status":     {"update"},
		"freshet.dev/functions/finalizers": {"update"},
		"apps/deployments":                 {"create", "get", "list", "update", "watch"},
		"/services":                        {"create", "get", "list", "update", "watch"},
	}
	granted := map[string][]string{}
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				granted[g+"/"+res] = append(granted[g+"/"+res], r.Verbs...)
			}
		}
	}
	for res, verbs := range functionWants {
		for _, v := range verbs {
			if !slices.Contains(granted[res], v) {
				t.Errorf("the Function reconciler needs %s on %s; the generated role lacks it", v, res)
			}
		}
	}
}

// TestEveryRoleIsNarrow checks every role config/default installs: no
// wildcards, no Secrets or ConfigMaps, Pods read-only, no verbs that raise
// privileges.
func TestEveryRoleIsNarrow(t *testing.T) {
	env := apiServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := env.Kubectl(ctx, "kustomize", repoPath("config/default"))
	if err != nil {
		t.Fatal(err)
	}
	roles := 0
	for _, doc := range strings.Split(out, "\n---\n") {
		var obj struct {
			Kind     string
			Metadata struct{ Name string }
			Rules    []rbacv1.PolicyRule
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Kind != "ClusterRole" && obj.Kind != "Role" {
			continue
		}
		roles++
		for _, r := range obj.Rules {
			checkRule(t, obj.Kind+" "+obj.Metadata.Name, r)
		}
	}
	if roles != 3 {
		t.Errorf("config/default has %d roles, want 3 (controller, its leader election, activator)", roles)
	}
}

func checkRule(t *testing.T, role string, r rbacv1.PolicyRule) {
	t.Helper()
	for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames} {
		if slices.Contains(list, "*") {
			t.Errorf("%s: rule %+v has a wildcard", role, r)
		}
	}
	for _, v := range forbiddenVerbs {
		if slices.Contains(r.Verbs, v) {
			t.Errorf("%s: rule %+v grants %s", role, r, v)
		}
	}
	for _, res := range r.Resources {
		if base, _, _ := strings.Cut(res, "/"); slices.Contains([]string{"secrets", "configmaps", "serviceaccounts", "roles", "rolebindings", "clusterroles", "clusterrolebindings"}, base) {
			t.Errorf("%s: rule %+v grants access to %s", role, r, res)
		}
		// Pods may be read (the activator finds ready replicas from
		// them), never written, nor their subresources (exec, log,
		// port-forward) touched.
		if res == "pods" {
			for _, v := range r.Verbs {
				if !slices.Contains([]string{"get", "list", "watch"}, v) {
					t.Errorf("%s: rule %+v grants %s on pods", role, r, v)
				}
			}
		} else if strings.HasPrefix(res, "pods/") {
			t.Errorf("%s: rule %+v grants access to %s", role, r, res)
		}
	}
}

// access is one request a ServiceAccount might make.
type access struct {
	verb, group, resource, subresource, namespace, name string
}

func (a access) String() string {
	s := a.verb + " " + a.group + "/" + a.resource
	if a.subresource != "" {
		s += "/" + a.subresource
	}
	if a.name != "" {
		s += " " + a.name
	}
	if a.namespace != "" {
		s += " in " + a.namespace
	}
	return s
}

// TestServiceAccountPermissions asks the API server's RBAC authorizer what
// the installed ServiceAccounts may do.
func TestServiceAccountPermissions(t *testing.T) {
	env := installed(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	allowed := func(sa string, a access) bool {
		t.Helper()
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:freshet-system:" + sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:freshet-system", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource,
				Namespace: a.namespace, Name: a.name,
			},
		}}
		if err := env.Client.Create(ctx, sar); err != nil {
			t.Fatal(err)
		}
		return sar.Status.Allowed
	}
	const sys, user = "freshet-system", "team-a"
	for _, tc := range []struct {
		sa       string
		allow    []access
		disallow []access
	}{
		{
			sa: "freshet-controller",
			allow: []access{
				{verb: "watch", group: "freshet.dev", resource: "functions"},
				{verb: "get", group: "freshet.dev", resource: "functions", namespace: user, name: "f"},
				{verb: "update", group: "freshet.dev", resource: "functions", subresource: "status", namespace: user},
				{verb: "create", group: "apps", resource: "deployments", namespace: user},
				{verb: "update", group: "apps", resource: "deployments", namespace: user},
				{verb: "list", group: "", resource: "services"},
				{verb: "create", group: "", resource: "services", namespace: user},
				{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: sys},
				{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: sys, name: "freshet-controller-leader"},
				{verb: "create", group: "", resource: "events", namespace: sys},
			},
			disallow: []access{
				{verb: "get", group: "", resource: "secrets", namespace: user},
				{verb: "list", group: "", resource: "configmaps"},
				{verb: "create", group: "", resource: "pods", namespace: user},
				{verb: "update", group: "freshet.dev", resource: "functions", namespace: user}, // spec belongs to the user
				{verb: "delete", group: "freshet.dev", resource: "functions", namespace: user},
				{verb: "update", group: "freshet.dev", resource: "functions", subresource: "scale", namespace: user}, // the scaler's job
				{verb: "delete", group: "apps", resource: "deployments", namespace: user},                            // the garbage collector's
				{verb: "deletecollection", group: "", resource: "services", namespace: user},
				{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: sys, name: "kube-scheduler"},
				{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: user},
				{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
			},
		},
		{
			sa: "freshet-activator",
			allow: []access{
				{verb: "watch", group: "freshet.dev", resource: "functions"},
				{verb: "list", group: "freshet.dev", resource: "vertices"},
				{verb: "get", group: "freshet.dev", resource: "functions", namespace: user},
				{verb: "watch", group: "", resource: "pods"}, // the ready replicas of functions
				{verb: "get", group: "", resource: "pods", namespace: user},
				{verb: "patch", group: "freshet.dev", resource: "vertices", subresource: "status", namespace: user},
				{verb: "get", group: "freshet.dev", resource: "functions", subresource: "scale", namespace: user},
				{verb: "patch", group: "freshet.dev", resource: "functions", subresource: "scale", namespace: user},
				{verb: "update", group: "freshet.dev", resource: "vertices", subresource: "scale", namespace: user},
			},
			disallow: []access{
				{verb: "watch", group: "freshet.dev", resource: "pipelines"}, // Vertices carry all it needs
				{verb: "update", group: "freshet.dev", resource: "functions", subresource: "status", namespace: user},
				{verb: "update", group: "freshet.dev", resource: "vertices", subresource: "status", namespace: user}, // it patches the backlog
				{verb: "update", group: "freshet.dev", resource: "functions", namespace: user},
				{verb: "update", group: "freshet.dev", resource: "pipelines", subresource: "status", namespace: user},
				{verb: "create", group: "apps", resource: "deployments", namespace: user},
				{verb: "update", group: "apps", resource: "deployments", subresource: "scale", namespace: user},
				{verb: "get", group: "", resource: "secrets", namespace: user},
				{verb: "delete", group: "", resource: "pods", namespace: user},
				{verb: "update", group: "", resource: "pods", subresource: "status", namespace: user},
				{verb: "get", group: "", resource: "pods", subresource: "log", namespace: user},
				{verb: "create", group: "", resource: "pods", subresource: "exec", namespace: user},
				{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: sys},
			},
		},
	} {
		for _, a := range tc.allow {
			if !allowed(tc.sa, a) {
				t.Errorf("%s may not %v; it needs to", tc.sa, a)
			}
		}
		for _, a := range tc.disallow {
			if allowed(tc.sa, a) {
				t.Errorf("%s may %v; it should not", tc.sa, a)
			}
		}
	}
}
