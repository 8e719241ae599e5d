package kubecluster

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/freshetproj/freshet/test/internal/child"
)

// Binaries are the programs a cluster needs in its binaries directory.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"}

var binaries struct {
	once sync.Once
	dir  string
	err  error
}

// BinDir returns the directory holding Binaries: KUBEBUILDER_ASSETS if it
// has all of them, or else the directory hack/test-binaries.sh prints,
// building them first if they are not cached. (A KUBEBUILDER_ASSETS made
// for envtest may hold only etcd, kube-apiserver and kubectl.) The result
// is computed once per process.
func BinDir() (string, error) {
	binaries.once.Do(func() { binaries.dir, binaries.err = findBinaries() })
	return binaries.dir, binaries.err
}

func findBinaries() (string, error) {
	env := os.Getenv("KUBEBUILDER_ASSETS")
	if env != "" && len(missingBinaries(env)) == 0 {
		return env, nil
	}
	why := "KUBEBUILDER_ASSETS is not set"
	if env != "" {
		why = fmt.Sprintf("KUBEBUILDER_ASSETS=%s lacks %s", env, strings.Join(missingBinaries(env), ", "))
	}
	root, err := child.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("kubecluster: %s and %w", why, err)
	}
	script := filepath.Join(root, "hack", "test-binaries.sh")
	fmt.Fprintf(os.Stderr, "kubecluster: %s; running %s (a first build takes several minutes)\n", why, script)
	cmd := exec.Command("bash", script)
	cmd.Dir = root
	var stdout bytes.Buffer
	stderr := &child.TailBuffer{Max: 8 << 10}
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(os.Stderr, stderr)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kubecluster: %s and %s could not build %s: %w\n%s",
			why, script, strings.Join(Binaries, ", "), err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if dir == "" {
		return "", fmt.Errorf("kubecluster: %s printed no directory", script)
	}
	if missing := missingBinaries(dir); len(missing) > 0 {
		return "", fmt.Errorf("kubecluster: %s printed %s, which lacks %s", script, dir, strings.Join(missing, ", "))
	}
	return dir, nil
}

func missingBinaries(dir string) []string {
	var missing []string
	for _, b := range Binaries {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	return missing
}
