package child

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KubeBinaries returns a directory holding every program in names (etcd,
// kube-apiserver, kubectl, ...); who prefixes its messages and errors.
//
// It is $KUBEBUILDER_ASSETS when that holds all of names. Otherwise
// hack/test-binaries.sh builds the control-plane binaries from the Go
// module proxy (once: they are cached) and prints the cache directory as
// the last line of its standard output. Falling back rather than failing
// matters because a KUBEBUILDER_ASSETS made for envtest (setup-envtest)
// may hold only etcd, kube-apiserver and kubectl. The errors name what is
// missing; when the script fails they end with the tail of its standard
// error. Callers should compute the result once per process.
func KubeBinaries(who string, names []string) (string, error) {
	why := "KUBEBUILDER_ASSETS is not set"
	if env := os.Getenv("KUBEBUILDER_ASSETS"); env != "" {
		missing := missingBinaries(env, names)
		if len(missing) == 0 {
			return env, nil
		}
		why = fmt.Sprintf("KUBEBUILDER_ASSETS=%s lacks %s", env, strings.Join(missing, ", "))
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%s: %s and %w", who, why, err)
	}
	script := filepath.Join(root, "hack", "test-binaries.sh")
	fmt.Fprintf(os.Stderr, "%s: %s; running %s (a first build takes several minutes)\n", who, why, script)
	dir, stderrTail, err := runScript(root, script)
	if err != nil {
		return "", fmt.Errorf("%s: %s and %s could not build %s: %w\n%s",
			who, why, script, strings.Join(names, ", "), err, stderrTail)
	}
	if dir == "" {
		return "", fmt.Errorf("%s: %s printed no directory", who, script)
	}
	if missing := missingBinaries(dir, names); len(missing) > 0 {
		return "", fmt.Errorf("%s: %s printed %s, which lacks %s", who, script, dir, strings.Join(missing, ", "))
	}
	return dir, nil
}

// missingBinaries returns those of names that are not executable files in
// dir, in the order of names.
func missingBinaries(dir string, names []string) []string {
	var missing []string
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	return missing
}
