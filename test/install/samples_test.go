package install

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/manifest"
)

// TestSamplesApply applies samples/kubernetes/ to an installed cluster and
// checks what `kubectl get` shows of them.
func TestSamplesApply(t *testing.T) {
	env := installed(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := env.Kubectl(ctx, "apply", "-n", ns, "-f", repoPath("samples/kubernetes")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"get", "fn"}, []string{"NAME", "READY", "REPLICAS", "BACKLOG", "URL", "AGE"}},
		{[]string{"get", "pl"}, []string{"NAME", "PHASE", "VERTICES", "READY", "AGE"}},
	} {
		out, err := env.Kubectl(ctx, append(tc.args, "-n", ns)...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, header(out)); diff != "" {
			t.Errorf("kubectl %v columns (-want +got):\n%s\n%s", tc.args, diff, out)
		}
	}
	if _, err := env.Kubectl(ctx, "get", "-n", ns, "fn/sentiment", "fn/enrich", "pl/enrich-classify"); err != nil {
		t.Error(err)
	}
}

// TestSamplesMatchLocal checks that samples/kubernetes/pipeline.yaml is
// samples/pipeline.yaml with images in place of local commands: both load
// (strictly decoded, defaulted and validated), and they differ only in the
// fields freshet dev alone uses.
func TestSamplesMatchLocal(t *testing.T) {
	local, err := manifest.Load(repoPath("samples/pipeline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := manifest.Load(repoPath("samples/kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	localOnly := func(c *v1alpha1.Container) {
		if c.Image == "" {
			t.Errorf("a container has no image, so it cannot run on a cluster: %+v", c)
		}
		c.Command, c.Args, c.WorkingDir = nil, nil, ""
	}
	specs := func(s *manifest.Set) (map[string]v1alpha1.FunctionSpec, map[string]v1alpha1.PipelineSpec) {
		fns, pls := map[string]v1alpha1.FunctionSpec{}, map[string]v1alpha1.PipelineSpec{}
		for _, f := range s.Functions {
			spec := *f.Object.Spec.DeepCopy()
			localOnly(&spec.Container)
			fns[f.Object.Name] = spec
		}
		for _, p := range s.Pipelines {
			spec := *p.Object.Spec.DeepCopy()
			for i := range spec.Vertices {
				if fn := spec.Vertices[i].Function; fn != nil && fn.Spec != nil {
					localOnly(&fn.Spec.Container)
				}
			}
			pls[p.Object.Name] = spec
		}
		return fns, pls
	}
	localFns, localPls := specs(local)
	clusterFns, clusterPls := specs(cluster)
	if diff := cmp.Diff(localPls, clusterPls); diff != "" {
		t.Errorf("Pipelines differ (-samples/pipeline.yaml +samples/kubernetes):\n%s", diff)
	}
	for name, want := range localFns {
		if diff := cmp.Diff(want, clusterFns[name]); diff != "" {
			t.Errorf("Function %s differs (-samples/pipeline.yaml +samples/kubernetes):\n%s", name, diff)
		}
	}
	if got := clusterFns["sentiment"]; got.Scale.Min == nil || *got.Scale.Min != 0 {
		t.Errorf("sentiment scale.min = %v, want 0 (an inference endpoint that scales to zero)", got.Scale.Min)
	}
}
