// Package child holds what Freshet's test helpers that run other programs
// share: finding the repository and its hack/ install scripts, choosing
// free loopback ports, running a child in a process group that dies with
// the test binary, and reporting the tail of its log when it fails.
package child

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// RepoRoot returns the root of the Freshet repository: from this source
// file's location, or (for -trimpath builds) by walking up from the working
// directory to the directory holding go.mod and hack/.
func RepoRoot() (string, error) {
	isRoot := func(dir string) bool {
		_, err1 := os.Stat(filepath.Join(dir, "go.mod"))
		_, err2 := os.Stat(filepath.Join(dir, "hack", "test-binaries.sh"))
		return err1 == nil && err2 == nil
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if dir := filepath.Join(filepath.Dir(file), "..", "..", ".."); isRoot(dir) {
			return filepath.Clean(dir), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (no go.mod and hack/test-binaries.sh above the working directory)")
		}
		dir = parent
	}
}

// Script runs hack/<system>/<system>.sh with args and returns the last line
// of its standard output (where the scripts print what they installed).
// Their standard error goes to the test binary's (a cold install takes a
// while, so it shows progress) and, on failure, into the error, which says
// what could not be installed.
func Script(system, what string, args ...string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%s: cannot run hack/%s/%s.sh to install %s: %w", system, system, system, what, err)
	}
	script := filepath.Join(root, "hack", system, system+".sh")
	fmt.Fprintf(os.Stderr, "%s: running %s %s\n", system, script, strings.Join(args, " "))
	out, stderrTail, err := runScript(root, script, args...)
	if err != nil {
		return "", fmt.Errorf("%s: %s %s could not install %s: %w\n%s", system, script, strings.Join(args, " "), what, err, stderrTail)
	}
	if out == "" {
		return "", fmt.Errorf("%s: %s %s printed nothing; it should print where it installed %s", system, script, strings.Join(args, " "), what)
	}
	return out, nil
}

// runScript runs `bash script args...` in dir and returns the last line of
// its standard output, where the hack/ scripts print what they installed.
// Its standard error goes to the test binary's too, since a cold install
// takes a while and that shows progress; the last 8 KiB of it come back as
// stderrTail for the caller's error.
func runScript(dir, script string, args ...string) (lastLine, stderrTail string, err error) {
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Dir = dir
	var stdout bytes.Buffer
	stderr := &TailBuffer{Max: 8 << 10}
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(os.Stderr, stderr)
	err = cmd.Run()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), stderr.String(), err
}

// Java returns the java binary ($JAVA_HOME/bin/java, or java on PATH); the
// error says that system needs Java 17 or newer.
func Java(system string) (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("%s: java is not on PATH (nor JAVA_HOME set); it needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)", system)
	}
	return p, nil
}

// FreePorts returns n distinct loopback ports that were free a moment ago.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// PortTaken is a start that lost a chosen port to another process before
// binding it; Retry starts again with other ports.
type PortTaken struct{ Err error }

func (e *PortTaken) Error() string { return e.Err.Error() }

// Retry calls start up to attempts times while it fails with a *PortTaken,
// noting each retry in log.
func Retry[T any](log io.Writer, attempts int, start func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := start()
		var taken *PortTaken
		if err == nil || attempt >= attempts || !errors.As(err, &taken) {
			return v, err
		}
		fmt.Fprintf(log, "\n=== freshet: port taken (%v); retrying with other ports ===\n\n", taken.Err)
	}
}

// Properties formats a Java .properties file, keys sorted.
func Properties(props map[string]string) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	sb.WriteString("# Written by Freshet's test helpers (test/brokers).\n")
	for _, k := range keys {
		// Backslashes are escapes in .properties files (Windows paths).
		fmt.Fprintf(&sb, "%s=%s\n", k, strings.ReplaceAll(props[k], `\`, `\\`))
	}
	return sb.String()
}

// TailFile returns the last n bytes of the file at path (all if n <= 0),
// starting at a line boundary.
func TailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	off := int64(0)
	if n > 0 && fi.Size() > int64(n) {
		off = fi.Size() - int64(n)
	}
	buf, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	if off > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	if len(bytes.TrimSpace(buf)) == 0 {
		return "(no output)"
	}
	return string(buf)
}

// TailBuffer keeps the last Max bytes written to it; safe for concurrent
// use.
type TailBuffer struct {
	Max int
	mu  sync.Mutex
	buf []byte
}

func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.Max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
