package podrun

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ShimArg, as os.Args[1], makes the node binary act as the mount shim.
const ShimArg = "podrun-shim"

// shimStatusFD is the descriptor on which the shim reports why it could not
// exec the program. It is close-on-exec in the shim, so the parent reads
// EOF with nothing when the exec worked.
const shimStatusFD = 3

// shimExitCode is the shim's exit status when it failed before the exec.
const shimExitCode = 127

// shimSpec is what the shim does before the exec; the parent writes it as
// JSON to a file and passes its path as the shim's first argument after
// ShimArg, followed by the program's argv. The environment of the shim is
// the program's.
type shimSpec struct {
	Mounts []shimMount `json:"mounts,omitempty"`
	Dir    string      `json:"dir"`
}

// shimMount bind-mounts Source (a host path) at Target.
type shimMount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// MaybeShim runs the shim and does not return when os.Args[1] == ShimArg;
// otherwise it returns at once. Call it first thing in main and TestMain of
// any binary that is the Config.Shim.
func MaybeShim() {
	if len(os.Args) < 2 || os.Args[1] != ShimArg {
		return
	}
	err := runShim(os.Args[2:])
	status := os.NewFile(shimStatusFD, "podrun-shim-status")
	fmt.Fprintf(status, "%v", err)
	fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
	os.Exit(shimExitCode)
}

// runShim mounts, changes directory and execs; it returns only on failure.
func runShim(args []string) error {
	// The status descriptor must not leak into the program.
	unix.CloseOnExec(shimStatusFD)
	if len(args) < 2 {
		return errors.New("usage: podrun-shim SPEC ARGV...")
	}
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var spec shimSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("spec %s: %w", args[0], err)
	}
	// The mount namespace was unshared by the parent (SysProcAttr.Unshareflags),
	// and the Go runtime made / recursively private before this ran: nothing
	// mounted here is seen outside this process and its children.
	for _, m := range sortMounts(spec.Mounts) {
		if err := bindMount(m); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	if err := os.Chdir(spec.Dir); err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	argv := args[1:]
	path, err := lookPath(argv[0], os.Getenv("PATH"))
	if err != nil {
		return err
	}
	return fmt.Errorf("exec %s: %w", path, syscall.Exec(path, argv, os.Environ()))
}

// sortMounts orders mounts so that a mount inside another one's target comes
// after it (fewer path elements first, like container runtimes do).
func sortMounts(ms []shimMount) []shimMount {
	ms = slices.Clone(ms)
	slices.SortStableFunc(ms, func(a, b shimMount) int {
		return cmp.Compare(depth(a.Target), depth(b.Target))
	})
	return ms
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

func bindMount(m shimMount) error {
	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.Target, err)
	}
	// Create the target on the host's filesystem when missing: a directory, or
	// an empty file to mount a file on. It stays there (empty) afterwards.
	if st.IsDir() {
		err = os.MkdirAll(m.Target, 0o755)
	} else if err = os.MkdirAll(filepath.Dir(m.Target), 0o755); err == nil {
		var f *os.File
		f, err = os.OpenFile(m.Target, os.O_CREATE|os.O_RDONLY, 0o644)
		if err == nil {
			f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("mount %s: creating the target: %w", m.Target, err)
	}
	if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, m.Target, err)
	}
	if m.ReadOnly {
		if err := unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("mount %s read-only: %w", m.Target, err)
		}
	}
	return nil
}

// lookPath resolves a program name like a container runtime: names with a
// slash are used as they are, others are searched in pathEnv.
func lookPath(name, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH: %w", name, fs.ErrNotExist)
}
