package manifest

import (
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

const typeHeader = "apiVersion: freshet.dev/v1alpha1\n"

// function is a valid Function document named name, with extra lines
// appended to its spec.container.
func function(name, containerExtra string) string {
	return typeHeader + "kind: Function\nmetadata:\n  name: " + name +
		"\nspec:\n  container:\n    command: [./fn]\n" + containerExtra
}

// pipeline is a valid Pipeline "demo": in → fn (a ref to Function echo) → out.
const pipelineDoc = typeHeader + `kind: Pipeline
metadata:
  name: demo
spec:
  vertices:
  - name: in
    source: {http: {}}
  - name: fn
    function: {ref: {name: echo}}
  - name: out
    sink: {log: {}}
  edges:
  - {from: in, to: fn}
  - {from: fn, to: out}
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		// paths to load, relative to the test directory; default: all files.
		paths []string
		// want are the joined errors, in order, each given by parts that
		// must all appear in it; {dir} is the test directory.
		want [][]string
	}{{
		name:  "unknown field",
		files: map[string]string{"f.yaml": function("echo", "  scale:\n    minimum: 1\n")},
		want:  [][]string{{`{dir}/f.yaml: document 1 (Function "echo"): unknown field "spec.scale.minimum"`}},
	}, {
		name:  "duplicate field",
		files: map[string]string{"f.yaml": function("echo", "    port: 1\n    port: 2\n")},
		want:  [][]string{{`{dir}/f.yaml: document 1 (Function "echo"): `, `line 9: key "port" already set`, `lines counted from the start of the document`}},
	}, {
		name:  "wrong type",
		files: map[string]string{"f.yaml": function("echo", `    port: "8080"`+"\n")},
		want:  [][]string{{`{dir}/f.yaml: document 1 (Function "echo"): spec.container.port: Invalid value: "8080": must be an integer (int32)`}},
	}, {
		name: "wrong types in lists are each named with their index",
		files: map[string]string{"p.yaml": function("echo", "") + "---\n" + strings.Replace(
			strings.Replace(pipelineDoc, "function: {ref: {name: echo}}", "function: {spec: {container: {command: [x]}, scale: {idleTimeout: 60}}}", 1),
			"sink: {log: {}}", "sink: {log: {}, delivery: {retry: many}}", 1)},
		want: [][]string{
			{`{dir}/p.yaml: document 2 (Pipeline "demo"): spec.vertices[1].function.spec.scale.idleTimeout: Invalid value: 60: must be a duration such as`},
			{`{dir}/p.yaml: document 2 (Pipeline "demo"): spec.vertices[2].sink.delivery.retry: Invalid value: "many": must be an integer (int32)`},
		},
	}, {
		name: "wrong types in maps are named with their key",
		files: map[string]string{"p.yaml": function("echo", "    resources: {limits: {cpu: lots}}\n") + "---\n" +
			strings.Replace(pipelineDoc, "{from: in, to: fn}", "{from: in, to: fn, filter: {exact: {type: [a]}}}", 1)},
		want: [][]string{
			{`{dir}/p.yaml: document 1 (Function "echo"): spec.container.resources.limits[cpu]: Invalid value: "lots": must be a quantity such as`},
			{`{dir}/p.yaml: document 2 (Pipeline "demo"): spec.edges[0].filter.exact[type]: Invalid value: ["a"]: must be a string`},
		},
	}, {
		name:  "validation error",
		files: map[string]string{"p.yaml": function("echo", "") + "---\n" + strings.Replace(pipelineDoc, "{from: fn, to: out}", "{from: fn, to: nope}", 1)},
		want: [][]string{
			{`{dir}/p.yaml: document 2 (Pipeline "demo"): spec.edges[1].to: Not found: "nope"`},
			{`{dir}/p.yaml: document 2 (Pipeline "demo"): spec.vertices[2]: Required value: sink vertex "out" has no incoming edge`},
		},
	}, {
		name:  "unsupported kind",
		files: map[string]string{"k.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"},
		want: [][]string{
			{`{dir}/k.yaml: document 1 (ConfigMap "cm"): apiVersion: Unsupported value: "v1": supported values: "freshet.dev/v1alpha1"`},
			{`{dir}/k.yaml: document 1 (ConfigMap "cm"): kind: Unsupported value: "ConfigMap": supported values: "Function", "Pipeline"`},
		},
	}, {
		name:  "unsupported version",
		files: map[string]string{"k.yaml": strings.Replace(function("echo", ""), "v1alpha1", "v1", 1)},
		want:  [][]string{{`{dir}/k.yaml: document 1 (Function "echo"): apiVersion: Unsupported value: "freshet.dev/v1"`}},
	}, {
		name:  "no kind",
		files: map[string]string{"k.yaml": typeHeader + "metadata: {name: x}\n"},
		want:  [][]string{{`{dir}/k.yaml: document 1: kind: Required value: Function or Pipeline`}},
	}, {
		name:  "not a mapping",
		files: map[string]string{"l.yaml": function("echo", "") + "---\n- a\n- b\n"},
		want:  [][]string{{`{dir}/l.yaml: document 2: the document is not a YAML mapping`}},
	}, {
		name:  "yaml syntax",
		files: map[string]string{"s.yaml": function("echo", "") + "---\nkind: [Function\n"},
		want:  [][]string{{`{dir}/s.yaml: document 2: `, `yaml:`}},
	}, {
		name: "duplicate across files",
		files: map[string]string{
			"a.yaml": function("echo", ""),
			"b.yaml": function("other", "") + "---\n" + function("echo", "    image: x\n"),
		},
		want: [][]string{{`{dir}/b.yaml: document 2 (Function "echo"): Function default/echo is already declared in {dir}/a.yaml: document 1`}},
	}, {
		name:  "missing function",
		files: map[string]string{"p.yaml": pipelineDoc},
		want:  [][]string{{`{dir}/p.yaml: document 1 (Pipeline "demo"): spec.vertices[1].function.ref.name: Not found: "echo": no Function "echo" in namespace "default"`}},
	}, {
		name: "function in another namespace",
		files: map[string]string{"p.yaml": strings.Replace(function("echo", ""), "name: echo", "name: echo\n  namespace: ml", 1) +
			"---\n" + pipelineDoc},
		want: [][]string{{`{dir}/p.yaml: document 2 (Pipeline "demo"): spec.vertices[1].function.ref.name: Not found: "echo"`}},
	}, {
		name: "errors of every file are collected",
		files: map[string]string{
			"a.yaml": function("a", "  scale:\n    minimum: 1\n"),
			"b.yaml": function("b", "    healthPath: ready\n"),
		},
		want: [][]string{
			{`{dir}/a.yaml: document 1 (Function "a"): unknown field "spec.scale.minimum"`},
			{`{dir}/b.yaml: document 1 (Function "b"): spec.container.healthPath: Invalid value: "ready": must start with '/'`},
		},
	}, {
		name:  "missing path",
		files: map[string]string{"a.yaml": function("a", "")},
		paths: []string{"a.yaml", "nope.yaml"},
		want:  [][]string{{`{dir}/nope.yaml`, "no such file or directory"}},
	}, {
		name:  "directory without yaml",
		files: map[string]string{"empty/README.md": "# nothing"},
		paths: []string{"empty"},
		want:  [][]string{{`{dir}/empty: no *.yaml or *.yml files in the directory`}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := []string{dir}
			for name, content := range tc.files {
				write(t, dir, name, content)
			}
			if tc.paths != nil {
				paths = nil
				for _, p := range tc.paths {
					paths = append(paths, filepath.Join(dir, p))
				}
			}
			set, err := Load(paths...)
			if err == nil {
				t.Fatalf("Load = %+v, want errors", set)
			}
			if set != nil {
				t.Errorf("Load returned a set with its errors")
			}
			t.Logf("Load errors:\n%v", err)
			got := []error{err}
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				got = joined.Unwrap()
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Load gave %d errors, want %d:\n%v", len(got), len(tc.want), err)
			}
			for i, parts := range tc.want {
				for _, part := range parts {
					part = strings.ReplaceAll(part, "{dir}", dir)
					if !strings.Contains(got[i].Error(), part) {
						t.Errorf("error %d = %q, want it to contain %q", i, got[i], part)
					}
				}
			}
		})
	}
}

func TestLoadNoPaths(t *testing.T) {
	if _, err := Load(); err == nil {
		t.Error("Load() = nil error, want one")
	}
}

func TestSetVerticesMissingFunction(t *testing.T) {
	p := &v1alpha1.Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
		Spec: v1alpha1.PipelineSpec{Vertices: []v1alpha1.PipelineVertex{
			{Name: "fn", Function: &v1alpha1.FunctionVertex{Ref: &v1alpha1.LocalObjectReference{Name: "echo"}}},
		}},
	}
	set := &Set{Pipelines: []Object[*v1alpha1.Pipeline]{{Origin: Origin{"p.yaml", 3}, Object: p}}}
	_, err := set.Vertices()
	want := `p.yaml: document 3 (Pipeline "demo"): spec.vertices[0].function.ref.name: Not found: "echo"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Vertices error = %v, want it to contain %q", err, want)
	}

	f := &v1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "echo"}}
	set.Functions = []Object[*v1alpha1.Function]{{Origin: Origin{"f.yaml", 1}, Object: f}}
	vs, err := set.Vertices()
	if err != nil || len(vs) != 1 || vs[0].Spec.FunctionName != "echo" {
		t.Errorf("Vertices = %v, %v; want the fn vertex resolved in the default namespace", vs, err)
	}
}
