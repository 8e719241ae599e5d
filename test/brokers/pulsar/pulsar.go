// Package pulsar runs a real Apache Pulsar broker for integration tests:
// Pulsar's standalone mode (broker, one BookKeeper bookie and a RocksDB
// metadata store in one JVM; no ZooKeeper, functions worker or stream
// storage) listening on loopback, assembled from Maven Central jars by
// hack/pulsar/pulsar.sh.
//
//	func TestSomething(t *testing.T) {
//		b := pulsar.Start(t)  // b.ServiceURL is "pulsar://127.0.0.1:<port>"
//		cl := b.Client(t)     // pulsar-client-go, closed when t ends
//		var stats map[string]any
//		err := b.AdminGet("/admin/v2/persistent/public/default/t/stats", &stats)
//	}
//
// The jars come from hack/pulsar/pulsar.sh, which fetches them once and
// caches them (the first run takes a minute or so); Start runs it once per
// process. Each Start keeps its data in t.TempDir and starts its own broker
// (5-10 s on 2 cores); it is killed when t ends, and also dies with the
// test binary (Linux: Pdeathsig). If Java, Maven or the jars cannot be had,
// the test fails saying what is missing: it never skips.
//
// The standalone broker has the cluster "standalone", the tenants "public"
// and "pulsar" and the namespace "public/default"; topics are created
// automatically (non-partitioned) on first use unless Options.Properties
// says otherwise.
package pulsar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// StartTimeout bounds how long Start waits for a broker to answer. The
// broker is usually ready within 10 s; a loaded 2-core machine can take
// much longer.
const StartTimeout = 120 * time.Second

// Options configure StartWith. The zero value is what Start uses.
type Options struct {
	// Properties are added to, or override, the broker's standalone.conf
	// (a ServiceConfiguration), e.g. {"allowAutoTopicCreation": "false"}.
	// The addresses and ports are the package's to choose.
	Properties map[string]string
	// LogLevel is the broker's Log4j root level (default INFO).
	LogLevel string
	// JVMArgs are added to the broker's java command line (after the
	// package's -Xmx512m and friends, so they win).
	JVMArgs []string
}

// Broker is a running standalone Pulsar.
type Broker struct {
	// ServiceURL is the binary protocol listener, "pulsar://127.0.0.1:<port>":
	// the URL for clients.
	ServiceURL string
	// WebURL is the HTTP listener (admin REST API, metrics),
	// "http://127.0.0.1:<port>".
	WebURL string
	// Dir holds standalone.conf, the data directories and the log.
	Dir string
	// LogPath is the file the broker's standard output and error go to.
	LogPath string
	// Version is the Apache Pulsar version.
	Version string

	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	waitErr  error
	killOnce sync.Once
}

// Start starts a broker for t and kills it when t ends. It fails t with the
// reason if the broker cannot be installed or does not start.
func Start(t testing.TB) *Broker {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Broker {
	t.Helper()
	b, err := Launch(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Kill)
	return b
}

// Launch installs Pulsar if needed and starts a broker keeping its files in
// dir, for programs that are not tests; the caller must Kill it.
func Launch(dir string, opts Options) (*Broker, error) {
	inst, err := Install()
	if err != nil {
		return nil, err
	}
	java, err := javaPath()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pulsar: %w", err)
	}
	return start(inst, java, dir, opts)
}

// Pid is the broker's process id.
func (b *Broker) Pid() int { return b.cmd.Process.Pid }

// Kill kills the broker (SIGKILL to its process group) and waits for it to
// exit. It is safe to call more than once; Start arranges a call when the
// test ends.
func (b *Broker) Kill() {
	b.killOnce.Do(func() {
		select {
		case <-b.done: // already reaped: its pid may belong to another process now
		default:
			killGroup(b.cmd)
			<-b.done
		}
	})
}

// Exited reports whether the broker process has exited, and how.
func (b *Broker) Exited() (bool, error) {
	select {
	case <-b.done:
		return true, b.waitErr
	default:
		return false, nil
	}
}

// Log returns the last n bytes of the broker's log (all of it if n <= 0).
func (b *Broker) Log(n int) string { return tailFile(b.LogPath, n) }

// Client returns a pulsar-client-go client for the broker, with opts's
// other fields as given (URL is set), and closes it when t ends.
func (b *Broker) Client(t testing.TB, opts ...pulsar.ClientOptions) pulsar.Client {
	t.Helper()
	var o pulsar.ClientOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	o.URL = b.ServiceURL
	if o.OperationTimeout == 0 {
		o.OperationTimeout = 30 * time.Second
	}
	cl, err := pulsar.NewClient(o)
	if err != nil {
		t.Fatalf("pulsar: new client for %s: %v", b.ServiceURL, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// AdminGet GETs path (e.g. "/admin/v2/persistent/public/default/t/stats")
// from the broker's REST API and decodes the JSON answer into v (if v is
// not nil). A status other than 200 is an error carrying the body.
func (b *Broker) AdminGet(path string, v any) error {
	return b.admin(http.MethodGet, path, nil, v)
}

// AdminPut PUTs body (JSON-encoded unless nil) to path, e.g.
// "/admin/v2/persistent/public/default/t" to create a topic.
func (b *Broker) AdminPut(path string, body any) error {
	return b.admin(http.MethodPut, path, body, nil)
}

func (b *Broker) admin(method, path string, body, v any) error {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.WebURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("pulsar: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("pulsar: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("pulsar: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(raw))
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("pulsar: %s %s: decoding %q: %w", method, path, raw, err)
		}
	}
	return nil
}

// Installation is what hack/pulsar/pulsar.sh installed.
type Installation struct {
	// Dir is the directory pulsar.sh printed.
	Dir string
	// Version is the Apache Pulsar version.
	Version string
	// Classpath is Dir/libs/* (a java -cp wildcard).
	Classpath string
	// Log4jConfig is the broker's Log4j 2 configuration file.
	Log4jConfig string
}

var install struct {
	once sync.Once
	inst *Installation
	err  error
}

// Install runs `hack/pulsar/pulsar.sh jars` once per process (fetching the
// Pulsar jars into the cache the first time) and returns the result.
func Install() (*Installation, error) {
	install.once.Do(func() { install.inst, install.err = runInstall() })
	return install.inst, install.err
}

func runInstall() (*Installation, error) {
	out, err := runScript("jars", "Apache Pulsar's jars (pulsar-broker and its dependencies, fetched from Maven Central with mvn; Java 17+ and Maven must be installed)")
	if err != nil {
		return nil, err
	}
	inst := &Installation{
		Dir:         out,
		Classpath:   filepath.Join(out, "libs", "*"),
		Log4jConfig: filepath.Join(out, "log4j2.properties"),
	}
	v, err := os.ReadFile(filepath.Join(out, "version"))
	if err != nil {
		return nil, fmt.Errorf("pulsar: hack/pulsar/pulsar.sh printed %s, which is not a Pulsar installation: %w", out, err)
	}
	inst.Version = strings.TrimSpace(string(v))
	for _, f := range []string{"pulsar-broker-" + inst.Version + ".jar", "managed-ledger-" + inst.Version + ".jar"} {
		if _, err := os.Stat(filepath.Join(out, "libs", f)); err != nil {
			return nil, fmt.Errorf("pulsar: the installation in %s lacks libs/%s; remove the directory and run hack/pulsar/pulsar.sh jars", out, f)
		}
	}
	return inst, nil
}

// runScript runs hack/pulsar/pulsar.sh cmd and returns the last line of its
// standard output; its standard error goes to the test binary's (a cold
// install takes a while, so show progress) and into the error.
func runScript(cmdName, what string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("pulsar: cannot run hack/pulsar/pulsar.sh to install %s: %w", what, err)
	}
	script := filepath.Join(root, "hack", "pulsar", "pulsar.sh")
	fmt.Fprintf(os.Stderr, "pulsar: running %s %s\n", script, cmdName)
	cmd := exec.Command("bash", script, cmdName)
	cmd.Dir = root
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(os.Stderr, stderr)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pulsar: %s %s could not install %s: %w\n%s", script, cmdName, what, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	out := strings.TrimSpace(lines[len(lines)-1])
	if out == "" {
		return "", fmt.Errorf("pulsar: %s %s printed nothing; it should print where it installed %s", script, cmdName, what)
	}
	return out, nil
}

// RepoRoot returns the root of the Freshet repository: from this source
// file's location, or (for -trimpath builds) by walking up from the working
// directory to the directory holding hack/pulsar/pulsar.sh.
func RepoRoot() (string, error) {
	isRoot := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "hack", "pulsar", "pulsar.sh"))
		return err == nil
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
			return "", errors.New("cannot find the repository root (no hack/pulsar/pulsar.sh above the working directory)")
		}
		dir = parent
	}
}

func javaPath() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("pulsar: java is not on PATH (nor JAVA_HOME set); the Pulsar broker needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)")
	}
	return p, nil
}

// start starts a broker in dir, retrying with other ports if one was taken
// between choosing and binding it.
func start(inst *Installation, java, dir string, opts Options) (*Broker, error) {
	logPath := filepath.Join(dir, "broker.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pulsar: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	const attempts = 3
	for attempt := 1; ; attempt++ {
		b, err := startOnce(inst, java, dir, logFile, opts)
		if err == nil {
			return b, nil
		}
		var bind *bindError
		if attempt < attempts && errors.As(err, &bind) {
			fmt.Fprintf(logFile, "\n=== freshet: port taken (%v); retrying with other ports ===\n\n", bind.err)
			continue
		}
		return nil, err
	}
}

type bindError struct{ err error }

func (e *bindError) Error() string { return e.err.Error() }

// javaOpens are the --add-opens Pulsar's bin/pulsar passes on Java 17+
// (Netty, BookKeeper and the load manager's system metrics reach into
// these).
var javaOpens = []string{
	"java.base/java.io", "java.base/java.util.zip", "java.base/sun.net",
	"java.management/sun.management", "jdk.management/com.sun.management.internal",
	"java.base/jdk.internal.platform", "java.base/java.lang", "java.base/java.nio",
	"java.base/sun.nio.ch", "java.base/jdk.internal.misc",
}

func startOnce(inst *Installation, java, dir string, logFile *os.File, opts Options) (*Broker, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, fmt.Errorf("pulsar: choosing ports: %w", err)
	}
	b := &Broker{
		ServiceURL: "pulsar://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		WebURL:     "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		Dir:        dir,
		LogPath:    logFile.Name(),
		Version:    inst.Version,
		done:       make(chan struct{}),
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.RemoveAll(dataDir); err != nil { // left by a failed attempt
		return nil, fmt.Errorf("pulsar: %w", err)
	}
	narDir := filepath.Join(dir, "nar")
	if err := os.MkdirAll(narDir, 0o755); err != nil {
		return nil, fmt.Errorf("pulsar: %w", err)
	}
	props := map[string]string{
		"clusterName":                       "standalone",
		"bindAddress":                       "127.0.0.1",
		"advertisedAddress":                 "127.0.0.1",
		"brokerServicePort":                 strconv.Itoa(ports[0]),
		"webServicePort":                    strconv.Itoa(ports[1]),
		"functionsWorkerEnabled":            "false",
		"managedLedgerDefaultEnsembleSize":  "1",
		"managedLedgerDefaultWriteQuorum":   "1",
		"managedLedgerDefaultAckQuorum":     "1",
		"allowAutoTopicCreation":            "true",
		"allowAutoTopicCreationType":        "non-partitioned",
		"narExtractionDirectory":            narDir,
		"brokerDeleteInactiveTopicsEnabled": "false",
		"managedLedgerCacheSizeMB":          "32",
	}
	for k, v := range opts.Properties {
		switch k {
		case "bindAddress", "bindAddresses", "advertisedAddress", "advertisedListeners",
			"brokerServicePort", "webServicePort", "metadataStoreUrl", "configurationMetadataStoreUrl":
			return nil, fmt.Errorf("pulsar: Options.Properties may not set %s; the package chooses it", k)
		}
		props[k] = v
	}
	cfgPath := filepath.Join(dir, "standalone.conf")
	if err := os.WriteFile(cfgPath, []byte(formatProperties(props)), 0o644); err != nil {
		return nil, fmt.Errorf("pulsar: %w", err)
	}

	logLevel := opts.LogLevel
	if logLevel == "" {
		logLevel = "INFO"
	}
	args := []string{
		"-Xms64m", "-Xmx512m", "-XX:MaxDirectMemorySize=512m",
		"-XX:+UseSerialGC", // 2 cores: no parallel GC threads to feed
		"-XX:+ExitOnOutOfMemoryError",
		"-Djava.awt.headless=true",
		"-Dio.netty.tryReflectionSetAccessible=true",
		"-Dpulsar.allocator.exit_on_oom=true",
		"-Dlog4j2.configurationFile=" + inst.Log4jConfig,
		"-Dfreshet.pulsar.loglevel=" + logLevel,
	}
	for _, o := range javaOpens {
		args = append(args, "--add-opens", o+"=ALL-UNNAMED")
	}
	args = append(args, opts.JVMArgs...)
	args = append(args, "-cp", inst.Classpath, "org.apache.pulsar.PulsarStandaloneStarter",
		"--config", cfgPath,
		"--no-functions-worker", "--no-stream-storage",
		"--metadata-dir", filepath.Join(dataDir, "metadata"),
		"--bookkeeper-dir", filepath.Join(dataDir, "bookkeeper"),
	)

	fmt.Fprintf(logFile, "=== freshet: starting Pulsar %s standalone on %s (web %s) ===\n", inst.Version, b.ServiceURL, b.WebURL)
	b.cmd = exec.Command(java, args...)
	b.cmd.Dir = dir
	b.cmd.Stdout, b.cmd.Stderr = logFile, logFile
	b.cmd.SysProcAttr = sysProcAttr()
	began := time.Now()
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("pulsar: starting %s: %w", java, err)
	}
	go func() {
		b.waitErr = b.cmd.Wait()
		close(b.done)
	}()

	if err := b.waitReady(StartTimeout); err != nil {
		exited, _ := b.Exited()
		b.Kill()
		log := tailFile(logFile.Name(), 8<<10)
		if exited && strings.Contains(log, "Address already in use") {
			return nil, &bindError{err}
		}
		return nil, fmt.Errorf("pulsar: the broker (Pulsar %s, %s) did not start after %v: %w\n--- last lines of %s ---\n%s",
			inst.Version, b.ServiceURL, time.Since(began).Round(time.Millisecond), err, logFile.Name(), log)
	}
	fmt.Fprintf(logFile, "=== freshet: the broker answered after %v ===\n", time.Since(began).Round(time.Millisecond))
	return b, nil
}

// waitReady polls the admin API until the standalone set-up is complete
// (the namespace public/default exists) and the broker's health check
// answers "ok" (the broker produces to and reads back from a heartbeat
// topic, through BookKeeper), the process exits, or the timeout passes.
func (b *Broker) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error = errors.New("no answer yet")
	for {
		var namespaces []string
		if err := b.AdminGet("/admin/v2/namespaces/public", &namespaces); err != nil {
			last = err
		} else if !slices.Contains(namespaces, "public/default") {
			last = fmt.Errorf("namespace public/default not there yet (have %q)", namespaces)
		} else if err := b.health(); err != nil {
			last = err
		} else {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v (last: %v)", timeout, last)
		}
		select {
		case <-b.done:
			return fmt.Errorf("the broker exited: %v", b.waitErr)
		case <-tick.C:
		}
	}
}

func (b *Broker) health() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.WebURL+"/admin/v2/brokers/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("health check: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

func formatProperties(props map[string]string) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	sb.WriteString("# Written by github.com/freshetproj/freshet/test/brokers/pulsar.\n")
	for _, k := range keys {
		// Backslashes are escapes in .properties files (Windows paths).
		fmt.Fprintf(&sb, "%s=%s\n", k, strings.ReplaceAll(props[k], `\`, `\\`))
	}
	return sb.String()
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
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

// tailFile returns the last n bytes of the file at path (all if n <= 0),
// starting at a line boundary.
func tailFile(path string, n int) string {
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
	return string(buf)
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
