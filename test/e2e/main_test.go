// Package e2e runs freshet dev as a real process, with real function
// processes, and checks what reaches the sinks.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// bins are the programs TestMain builds.
var bins struct {
	freshet string // cmd/freshet
	enrich  string // samples/functions/go-enrich
	noop    string // test/bench/noopfn: pass-through, DELAY env to hold each event
	root    string // the repository root
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	bins.root = filepath.Join(filepath.Dir(file), "..", "..")
	dir, err := os.MkdirTemp("", "freshet-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bins.freshet = filepath.Join(dir, "freshet")
	bins.enrich = filepath.Join(dir, "go-enrich")
	bins.noop = filepath.Join(dir, "noopfn")
	for out, pkg := range map[string]string{bins.freshet: "./cmd/freshet", bins.enrich: "./samples/functions/go-enrich", bins.noop: "./test/bench/noopfn"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = bins.root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building %s: %v\n", pkg, err)
			return 1
		}
	}
	if _, err := exec.LookPath("python3"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: python3 is required (the python-classify sample runs on it) and is not on PATH")
		return 1
	}
	return m.Run()
}
