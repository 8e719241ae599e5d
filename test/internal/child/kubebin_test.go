package child

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFile writes a file of the given mode into dir.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestMissingBinaries(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "exe", "#!/bin/sh\n", 0o755)
	writeFile(t, dir, "plain", "not executable", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := missingBinaries(dir, []string{"absent", "exe", "plain", "sub"})
	if want := []string{"absent", "plain", "sub"}; !slices.Equal(got, want) {
		t.Errorf("missingBinaries = %q, want %q", got, want)
	}
}

func TestKubeBinariesUsesCompleteAssets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "etcd", "#!/bin/sh\n", 0o755)
	writeFile(t, dir, "kubectl", "#!/bin/sh\n", 0o755)
	t.Setenv("KUBEBUILDER_ASSETS", dir)
	got, err := KubeBinaries("test", []string{"etcd", "kubectl"})
	if err != nil {
		t.Fatal(err)
	}
	if got != dir {
		t.Errorf("KubeBinaries = %s, want KUBEBUILDER_ASSETS %s", got, dir)
	}
}

// An incomplete KUBEBUILDER_ASSETS (as setup-envtest makes for a caller
// that also needs kube-scheduler) falls back to hack/test-binaries.sh, the
// real one: fast once its cache is filled, minutes on a cold machine.
func TestKubeBinariesFallsBackToScript(t *testing.T) {
	partial := t.TempDir()
	writeFile(t, partial, "etcd", "#!/bin/sh\n", 0o755)
	t.Setenv("KUBEBUILDER_ASSETS", partial)
	names := []string{"etcd", "kube-apiserver", "kube-scheduler", "kubectl"}
	got, err := KubeBinaries("test", names)
	if err != nil {
		t.Fatal(err)
	}
	if got == partial {
		t.Fatalf("KubeBinaries returned the incomplete KUBEBUILDER_ASSETS %s", partial)
	}
	if missing := missingBinaries(got, names); len(missing) > 0 {
		t.Errorf("KubeBinaries returned %s, which lacks %s", got, strings.Join(missing, ", "))
	}
}

func TestRunScript(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ok.sh", "echo progress >&2\necho first\necho \"  $1  \"\n", 0o644)
	writeFile(t, dir, "fail.sh", "echo 'could not fetch' >&2\necho partial\nexit 3\n", 0o644)

	last, _, err := runScript(dir, "ok.sh", "/the/dir")
	if err != nil {
		t.Fatalf("ok.sh: %v", err)
	}
	if last != "/the/dir" {
		t.Errorf("ok.sh: last line %q, want %q (trimmed)", last, "/the/dir")
	}

	_, stderrTail, err := runScript(dir, "fail.sh")
	if err == nil {
		t.Fatal("fail.sh: no error for exit status 3")
	}
	if !strings.Contains(stderrTail, "could not fetch") {
		t.Errorf("fail.sh: stderr tail %q lacks the script's message", stderrTail)
	}
}
