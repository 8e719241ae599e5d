package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// write writes content to name below dir, creating directories, and
// returns its path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodFile = `---
# the echo function
apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: echo
spec:
  container:
    command: ["./echo"]
  scale:
    max: 3
---
# nothing here
---
apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: demo
spec:
  vertices:
  - name: in
    source:
      http: {}
  - name: echo
    function:
      ref:
        name: echo
  - name: tok
    function:
      spec:
        container:
          command: ["python", "tok.py"]
          workingDir: py
  - name: out
    sink:
      log: {}
  edges:
  - from: in
    to: echo
  - from: echo
    to: tok
    filter:
      exact:
        type: text
  - from: tok
    to: out
`

const otherFile = `apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: abs
  namespace: ml
spec:
  container:
    image: ghcr.io/x/abs
    workingDir: /srv/abs
`

func TestLoadGood(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "a.yaml", goodFile)
	other := write(t, dir, "sub/b.yml", otherFile)
	write(t, dir, "README.md", "not yaml: [")
	write(t, dir, ".hidden/c.yaml", "not: valid: yaml: [")

	set, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	type summary struct {
		Origin
		Kind, Namespace, Name, WorkingDir string
	}
	var got []summary
	for _, f := range set.Functions {
		got = append(got, summary{f.Origin, "Function", f.Object.Namespace, f.Object.Name, f.Object.Spec.Container.WorkingDir})
	}
	for _, p := range set.Pipelines {
		got = append(got, summary{p.Origin, "Pipeline", p.Object.Namespace, p.Object.Name,
			p.Object.Spec.Vertices[2].Function.Spec.Container.WorkingDir})
	}
	want := []summary{
		{Origin{good, 1}, "Function", "default", "echo", dir},
		{Origin{other, 1}, "Function", "ml", "abs", "/srv/abs"},
		{Origin{good, 3}, "Pipeline", "default", "demo", filepath.Join(dir, "py")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loaded objects (-want +got):\n%s", diff)
	}

	echo := set.Functions[0].Object.Spec
	if *echo.Scale.Max != 3 || *echo.Scale.TargetBacklog != v1alpha1.DefaultTargetBacklog || echo.Container.Port != v1alpha1.DefaultPort {
		t.Errorf("echo spec not defaulted as declared: max %d, targetBacklog %d, port %d",
			*echo.Scale.Max, *echo.Scale.TargetBacklog, echo.Container.Port)
	}

	vertices, err := set.Vertices()
	if err != nil {
		t.Fatalf("Vertices: %v", err)
	}
	var names []string
	for _, v := range vertices {
		names = append(names, v.Namespace+"/"+v.Name)
	}
	if diff := cmp.Diff([]string{"default/demo-in", "default/demo-echo", "default/demo-tok", "default/demo-out"}, names); diff != "" {
		t.Errorf("vertices (-want +got):\n%s", diff)
	}
	if fn := vertices[1].Spec; fn.FunctionName != "echo" || *fn.Function.Scale.Max != 3 || fn.Function.Container.WorkingDir != dir {
		t.Errorf("echo vertex = %+v, want the echo Function's spec with its working dir", fn)
	}
}

func TestLoadFileTwice(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "a.yaml", otherFile)
	set, err := Load(file, dir, dir+"/./a.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(set.Functions) != 1 {
		t.Errorf("loaded %d Functions, want the file read once", len(set.Functions))
	}
}

func TestLoadErrorIsInspectable(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "f.yaml", strings.Replace(otherFile, "image: ghcr.io/x/abs", "port: 0\n    healthPath: x", 1))
	_, err := Load(file)
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("Load error %v is not a *manifest.Error", err)
	}
	if me.File != file || me.Document != 1 || me.Kind != "Function" || me.Name != "abs" {
		t.Errorf("Error = %+v, want file %s, document 1, Function abs", me, file)
	}
	var fe *field.Error
	if !errors.As(err, &fe) || fe.Field != "spec.container" || fe.Type != field.ErrorTypeRequired {
		t.Errorf("first field error = %v, want spec.container Required", fe)
	}
}
