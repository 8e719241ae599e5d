// Package kafka runs a real Apache Kafka broker for integration tests: a
// single KRaft node (broker and controller in one JVM) listening on
// loopback, assembled from Maven Central jars by hack/kafka/kafka.sh, plus
// Debian's kcat as an independent client.
//
//	func TestSomething(t *testing.T) {
//		b := kafka.Start(t)       // b.Addr is "127.0.0.1:<port>"
//		adm := b.Admin(t)         // franz-go kadm, closed when t ends
//		cl := b.Client(t)         // franz-go kgo
//		kcat := kafka.Kcat(t)     // path of the kcat binary
//	}
//
// The jars come from hack/kafka/kafka.sh, which fetches them once and caches
// them (the first run takes a minute or so); Start runs it once per
// process. Each Start formats fresh storage in t.TempDir and starts its own
// broker (a few seconds on 2 cores); it is killed when t ends, and also
// dies with the test binary (Linux: Pdeathsig). If Java, Maven, the jars or
// kcat cannot be had, the test fails saying what is missing: it never skips.
//
// Topics are not created automatically (auto.create.topics.enable=false):
// create them with b.Admin(t).CreateTopics, or pass Options.Properties.
// New topics get 3 partitions unless asked otherwise.
package kafka

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/test/internal/child"
)

// StartTimeout bounds how long Start waits for a broker to answer.
const StartTimeout = 90 * time.Second

// Options configure StartWith. The zero value is what Start uses.
type Options struct {
	// Properties are added to, or override, the broker's server.properties,
	// e.g. {"auto.create.topics.enable": "true"}. The listener, quorum and
	// log.dirs settings are the package's to choose.
	Properties map[string]string
	// LogLevel is the broker's Log4j root level (default INFO).
	LogLevel string
	// JVMArgs are added to the broker's java command line (after the
	// package's -Xmx512m and friends, so they win).
	JVMArgs []string
}

// Broker is a running single-node Kafka cluster.
type Broker struct {
	// Addr is the PLAINTEXT listener, "127.0.0.1:<port>": the bootstrap
	// address for clients.
	Addr string
	// ControllerAddr is the KRaft controller listener.
	ControllerAddr string
	// ClusterID is the id the storage was formatted with.
	ClusterID string
	// Dir holds server.properties, the data directory and the log.
	Dir string
	// LogPath is the file the broker's standard output and error (and the
	// storage tool's) go to.
	LogPath string
	// Version is the Apache Kafka version.
	Version string

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

// Launch installs Kafka if needed and starts a broker keeping its files in
// dir, for programs that are not tests (the benchmarks); the caller must
// Kill it.
func Launch(dir string, opts Options) (*Broker, error) {
	inst, err := Install()
	if err != nil {
		return nil, err
	}
	java, err := child.Java("kafka")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return start(inst, java, dir, opts)
}

// Log returns the last n bytes of the broker's log (all of it if n <= 0).
func (b *Broker) Log(n int) string { return child.TailFile(b.LogPath, n) }

// Client returns a franz-go client bootstrapped to the broker, with opts
// added, and closes it when t ends.
func (b *Broker) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr)}, opts...)...)
	if err != nil {
		t.Fatalf("kafka: new client for %s: %v", b.Addr, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns a kadm client for the broker, closed when t ends.
func (b *Broker) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(b.Client(t))
}

// Installation is what hack/kafka/kafka.sh installed.
type Installation struct {
	// Dir is the directory kafka.sh printed.
	Dir string
	// Version is the Apache Kafka version.
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

// Install runs `hack/kafka/kafka.sh jars` once per process (fetching the
// Kafka jars into the cache the first time) and returns the result.
func Install() (*Installation, error) {
	install.once.Do(func() { install.inst, install.err = runInstall() })
	return install.inst, install.err
}

func runInstall() (*Installation, error) {
	out, err := child.Script("kafka", "Apache Kafka's jars (kafka_2.13 and its dependencies, fetched from Maven Central with mvn; Java 17+ and Maven must be installed)", "jars")
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
		return nil, fmt.Errorf("kafka: hack/kafka/kafka.sh printed %s, which is not a Kafka installation: %w", out, err)
	}
	inst.Version = strings.TrimSpace(string(v))
	for _, f := range []string{"kafka_2.13-" + inst.Version + ".jar", "kafka-clients-" + inst.Version + ".jar"} {
		if _, err := os.Stat(filepath.Join(out, "libs", f)); err != nil {
			return nil, fmt.Errorf("kafka: the installation in %s lacks libs/%s; remove the directory and run hack/kafka/kafka.sh install", out, f)
		}
	}
	return inst, nil
}

var kcat struct {
	once sync.Once
	path string
	err  error
}

// Kcat returns the path of the kcat binary (Debian's package kcat, built on
// librdkafka), installing it with `hack/kafka/kafka.sh kcat` (apt-get) once
// per process if it is not on PATH. It fails t if kcat cannot be had.
func Kcat(t testing.TB) string {
	t.Helper()
	kcat.once.Do(func() {
		if p, err := exec.LookPath("kcat"); err == nil {
			kcat.path = p
			return
		}
		kcat.path, kcat.err = child.Script("kafka", "kcat (the Kafka command-line client; Debian package kcat, installed with apt-get as root)", "kcat")
	})
	if kcat.err != nil {
		t.Fatal(kcat.err)
	}
	return kcat.path
}

// RequireKcat is Kcat for tests that only need kcat to be there.
func RequireKcat(t testing.TB) { t.Helper(); Kcat(t) }

// start formats storage and starts a broker in dir, retrying with other
// ports if one was taken between choosing and binding it.
func start(inst *Installation, java, dir string, opts Options) (*Broker, error) {
	logPath := filepath.Join(dir, "broker.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	return child.Retry(logFile, 3, func() (*Broker, error) { return startOnce(inst, java, dir, logFile, opts) })
}

func startOnce(inst *Installation, java, dir string, logFile *os.File, opts Options) (*Broker, error) {
	ports, err := child.FreePorts(2)
	if err != nil {
		return nil, fmt.Errorf("kafka: choosing ports: %w", err)
	}
	b := &Broker{
		Addr:           net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		ControllerAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		ClusterID:      newClusterID(),
		Dir:            dir,
		LogPath:        logFile.Name(),
		Version:        inst.Version,
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.RemoveAll(dataDir); err != nil { // left by a failed attempt
		return nil, fmt.Errorf("kafka: %w", err)
	}
	props := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          "1",
		"controller.quorum.voters":                         "1@" + b.ControllerAddr,
		"listeners":                                        "PLAINTEXT://" + b.Addr + ",CONTROLLER://" + b.ControllerAddr,
		"advertised.listeners":                             "PLAINTEXT://" + b.Addr,
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"log.dirs":                                         dataDir,
		"num.partitions":                                   "3",
		"default.replication.factor":                       "1",
		"min.insync.replicas":                              "1",
		"auto.create.topics.enable":                        "false",
		"offsets.topic.replication.factor":                 "1",
		"offsets.topic.num.partitions":                     "3",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"transaction.state.log.num.partitions":             "3",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"group.initial.rebalance.delay.ms":                 "0",
	}
	for k, v := range opts.Properties {
		switch k {
		case "process.roles", "node.id", "controller.quorum.voters", "controller.quorum.bootstrap.servers",
			"listeners", "advertised.listeners", "controller.listener.names", "log.dirs", "log.dir":
			return nil, fmt.Errorf("kafka: Options.Properties may not set %s; the package chooses it", k)
		}
		props[k] = v
	}
	cfgPath := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(cfgPath, []byte(child.Properties(props)), 0o644); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}

	logLevel := opts.LogLevel
	if logLevel == "" {
		logLevel = "INFO"
	}
	common := []string{
		"-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile=" + inst.Log4jConfig,
		"-XX:+UseSerialGC", // 2 cores: no parallel GC threads to feed
		"-XX:+ExitOnOutOfMemoryError",
	}

	// Format the storage (the kafka-storage.sh format step): a short-lived
	// JVM, so quick compilation only and quiet logging.
	fmt.Fprintf(logFile, "=== freshet: formatting %s (cluster id %s) ===\n", dataDir, b.ClusterID)
	formatArgs := append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dfreshet.kafka.loglevel=WARN"}, common...)
	formatArgs = append(formatArgs, "-cp", inst.Classpath,
		"kafka.tools.StorageTool", "format", "--cluster-id", b.ClusterID, "--config", cfgPath)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	format := exec.CommandContext(ctx, java, formatArgs...)
	format.Dir = dir
	format.Stdout, format.Stderr = logFile, logFile
	formatBegan := time.Now()
	err = format.Run()
	cancel()
	fmt.Fprintf(logFile, "=== freshet: format took %v ===\n", time.Since(formatBegan).Round(time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("kafka: formatting the storage (java kafka.tools.StorageTool format, Kafka %s from %s): %w\n--- last lines of %s ---\n%s",
			inst.Version, inst.Dir, err, logFile.Name(), child.TailFile(logFile.Name(), 4<<10))
	}

	fmt.Fprintf(logFile, "=== freshet: starting the broker on %s (controller %s) ===\n", b.Addr, b.ControllerAddr)
	args := append([]string{"-Xms64m", "-Xmx512m", "-Dfreshet.kafka.loglevel=" + logLevel}, common...)
	args = append(args, opts.JVMArgs...)
	args = append(args, "-cp", inst.Classpath, "kafka.Kafka", cfgPath)
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	began := time.Now()
	proc, err := child.StartProcess(cmd)
	if err != nil {
		return nil, fmt.Errorf("kafka: starting %s: %w", java, err)
	}
	b.Process = proc

	if err := b.waitReady(StartTimeout); err != nil {
		exited, _ := b.Exited()
		b.Kill()
		log := child.TailFile(logFile.Name(), 8<<10)
		if exited && strings.Contains(log, "Address already in use") {
			return nil, &child.PortTaken{Err: err}
		}
		return nil, fmt.Errorf("kafka: the broker (Kafka %s, %s) did not start after %v: %w\n--- last lines of %s ---\n%s",
			inst.Version, b.Addr, time.Since(began).Round(time.Millisecond), err, logFile.Name(), log)
	}
	fmt.Fprintf(logFile, "=== freshet: the broker answered after %v ===\n", time.Since(began).Round(time.Millisecond))
	return b, nil
}

// waitReady polls the broker's metadata until it lists a broker and a
// controller, the process exits, or the timeout passes.
func (b *Broker) waitReady(timeout time.Duration) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DialTimeout(time.Second), kgo.RequestRetries(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error = errors.New("no answer yet")
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, err := adm.Metadata(ctx)
		cancel()
		switch {
		case err != nil:
			last = err
		case len(m.Brokers) == 0:
			last = errors.New("metadata lists no brokers yet")
		case m.Controller < 0:
			last = errors.New("metadata names no controller yet")
		default:
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no usable metadata within %v (last: %v)", timeout, last)
		}
		select {
		case <-b.Done():
			_, err := b.Exited()
			return fmt.Errorf("the broker exited: %v", err)
		case <-tick.C:
		}
	}
}

// newClusterID returns a random Kafka cluster id: 16 random bytes in
// unpadded URL-safe base64, as kafka-storage.sh random-uuid prints. Like
// Kafka's own Uuid.randomUuid it never starts with '-', which the storage
// tool's argument parser would take for an option (one run in 64 failed
// "argument --cluster-id/-t: expected one argument" before).
func newClusterID() string {
	for {
		var u [16]byte
		_, _ = rand.Read(u[:])
		u[6] = u[6]&0x0f | 0x40 // version 4, like java.util.UUID.randomUUID
		u[8] = u[8]&0x3f | 0x80
		if id := base64.RawURLEncoding.EncodeToString(u[:]); id[0] != '-' {
			return id
		}
	}
}
