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
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/freshetproj/freshet/test/internal/child"
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
	// TokenAuth turns on the broker's token (JWT) authentication with a
	// fresh secret key: Broker.Token is a superuser's token, which Client,
	// AdminGet and AdminPut send, and Broker.SignToken makes others.
	TokenAuth bool
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
	// Token is a superuser's token when Options.TokenAuth is set.
	Token string

	secret []byte // signs tokens (Options.TokenAuth)

	*child.Process // Pid, Kill, Exited
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
	java, err := child.Java("pulsar")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pulsar: %w", err)
	}
	return start(inst, java, dir, opts)
}

// Log returns the last n bytes of the broker's log (all of it if n <= 0).
func (b *Broker) Log(n int) string { return child.TailFile(b.LogPath, n) }

// Client returns a pulsar-client-go client for the broker, with opts's
// other fields as given (URL is set), and closes it when t ends.
func (b *Broker) Client(t testing.TB, opts ...pulsar.ClientOptions) pulsar.Client {
	t.Helper()
	var o pulsar.ClientOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	o.URL = b.ServiceURL
	if o.Authentication == nil && b.Token != "" {
		o.Authentication = pulsar.NewAuthenticationToken(b.Token)
	}
	if o.Logger == nil { // pulsar-client-go logs every connection at info
		o.Logger = pulsarlog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
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
	b.authorize(req)
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
	out, err := child.Script("pulsar", "Apache Pulsar's jars (pulsar-broker and its dependencies, fetched from Maven Central with mvn; Java 17+ and Maven must be installed)", "jars")
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

// start starts a broker in dir, retrying with other ports if one was taken
// between choosing and binding it.
func start(inst *Installation, java, dir string, opts Options) (*Broker, error) {
	logPath := filepath.Join(dir, "broker.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pulsar: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	return child.Retry(logFile, 3, func() (*Broker, error) { return startOnce(inst, java, dir, logFile, opts) })
}

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
	ports, err := child.FreePorts(2)
	if err != nil {
		return nil, fmt.Errorf("pulsar: choosing ports: %w", err)
	}
	b := &Broker{
		ServiceURL: "pulsar://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		WebURL:     "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		Dir:        dir,
		LogPath:    logFile.Name(),
		Version:    inst.Version,
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
	if opts.TokenAuth {
		b.secret = make([]byte, 32)
		if _, err := rand.Read(b.secret); err != nil {
			return nil, fmt.Errorf("pulsar: %w", err)
		}
		b.Token = b.SignToken("admin")
		maps.Copy(props, map[string]string{
			"authenticationEnabled":                "true",
			"authenticationProviders":              "org.apache.pulsar.broker.authentication.AuthenticationProviderToken",
			"tokenSecretKey":                       "data:;base64," + base64.StdEncoding.EncodeToString(b.secret),
			"superUserRoles":                       "admin",
			"brokerClientAuthenticationPlugin":     "org.apache.pulsar.client.impl.auth.AuthenticationToken",
			"brokerClientAuthenticationParameters": "token:" + b.Token,
		})
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
	if err := os.WriteFile(cfgPath, []byte(child.Properties(props)), 0o644); err != nil {
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
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	began := time.Now()
	proc, err := child.StartProcess(cmd)
	if err != nil {
		return nil, fmt.Errorf("pulsar: starting %s: %w", java, err)
	}
	b.Process = proc

	if err := b.waitReady(StartTimeout); err != nil {
		exited, _ := b.Exited()
		b.Kill()
		log := child.TailFile(logFile.Name(), 8<<10)
		if exited && strings.Contains(log, "Address already in use") {
			return nil, &child.PortTaken{Err: err}
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
		case <-b.Done():
			_, err := b.Exited()
			return fmt.Errorf("the broker exited: %v", err)
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
	b.authorize(req)
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

// authorize adds the superuser's token to a request to the admin API.
func (b *Broker) authorize(req *http.Request) {
	if b.Token != "" {
		req.Header.Set("Authorization", "Bearer "+b.Token)
	}
}

// SignToken makes a token (an HS256 JWT) for subject that the broker
// accepts: Options.TokenAuth must be set.
func (b *Broker) SignToken(subject string) string {
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]string{"sub": subject})
	unsigned := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, b.secret)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}
