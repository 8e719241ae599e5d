// Package nodetest holds what the tests of the process node and of its
// command share: a TestMain that builds the programs their pods run, the
// echo server those pods are, and waits on nodes and pods in the API server.
package nodetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/freshetproj/freshet/test/envtest"
	"github.com/freshetproj/freshet/test/processnode/podrun"
)

// binDir holds the commands Main built.
var binDir string

// Main is the TestMain of a package that runs a process node. podrun starts
// containers by re-executing the test binary as its shim, so Main first
// lets it; then it builds the commands pkgs (import paths) into a temporary
// directory, where Bin finds them, and runs m with envtest's shared API
// server. It does not return.
func Main(m *testing.M, pkgs ...string) {
	podrun.MaybeShim()
	dir, err := os.MkdirTemp("", "processnode-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// -o dir/ with a trailing slash: each command lands in dir under its
	// own name, however many there are.
	build := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building %v: %v\n%s", pkgs, err, out)
		os.Exit(1)
	}
	binDir = dir
	code := envtest.RunMain(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// Bin is the path of the command called name that Main built.
func Bin(name string) string {
	if binDir == "" {
		panic("nodetest.Bin: the package's TestMain must call nodetest.Main")
	}
	return filepath.Join(binDir, name)
}
