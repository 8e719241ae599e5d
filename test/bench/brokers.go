package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	kafkabroker "github.com/freshetproj/freshet/test/brokers/kafka"
	sqsbroker "github.com/freshetproj/freshet/test/brokers/sqs"
)

// broker is a real Kafka broker or SQS emulator the benchmark runs as a
// child process in a process group of its own. test/brokers' Start
// functions need a testing.TB, so the benchmark starts them itself the way
// those packages do, from the installations their exported Install
// functions provide (hack/kafka/kafka.sh, hack/sqs/sqs.sh).
type broker struct {
	name    string
	addr    string // Kafka: host:port; SQS: http://host:port
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

func (b *broker) pid() int { return b.cmd.Process.Pid }

// kill stops the process group: SIGTERM, then SIGKILL after a few seconds.
func (b *broker) kill() {
	select {
	case <-b.exited:
		return
	default:
	}
	_ = syscall.Kill(-b.pid(), syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-b.pid(), syscall.SIGKILL)
	<-b.exited
}

func (b *broker) logTail(n int) string {
	data, _ := os.ReadFile(b.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startBrokerProc starts cmd with its output to logPath, in its own
// process group (killed with the benchmark on Linux).
func startBrokerProc(name string, cmd *exec.Cmd, logPath string) (*broker, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = brokerProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	b := &broker{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	return b, nil
}

// startKafka runs a single-node KRaft Kafka broker (the jars of
// hack/kafka/kafka.sh, the settings of test/brokers/kafka, new topics with
// 6 partitions) with its data under dir, and waits until it answers.
func startKafka(dir string) (*broker, error) {
	inst, err := kafkabroker.Install()
	if err != nil {
		return nil, err
	}
	java := "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java = filepath.Join(home, "bin", "java")
	}
	if _, err := exec.LookPath(java); err != nil {
		return nil, fmt.Errorf("kafka: java (17+) is needed to run the broker: %w", err)
	}
	kdir := filepath.Join(dir, "kafka")
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return nil, err
	}
	ports := make([]string, 2)
	for i := range ports {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		_, ports[i], _ = net.SplitHostPort(a)
	}
	addr, ctrl := "127.0.0.1:"+ports[0], "127.0.0.1:"+ports[1]
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	clusterID := base64.RawURLEncoding.EncodeToString(u[:])
	props := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          "1",
		"controller.quorum.voters":                         "1@" + ctrl,
		"listeners":                                        "PLAINTEXT://" + addr + ",CONTROLLER://" + ctrl,
		"advertised.listeners":                             "PLAINTEXT://" + addr,
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"log.dirs":                                         filepath.Join(kdir, "data"),
		"num.partitions":                                   "6",
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
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var cfg bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&cfg, "%s=%s\n", k, props[k])
	}
	cfgPath := filepath.Join(kdir, "server.properties")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o644); err != nil {
		return nil, err
	}
	common := []string{"-Djava.awt.headless=true", "-Dlog4j2.configurationFile=" + inst.Log4jConfig, "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError"}
	format := exec.Command(java, append(append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dfreshet.kafka.loglevel=WARN"}, common...),
		"-cp", inst.Classpath, "kafka.tools.StorageTool", "format", "--cluster-id", clusterID, "--config", cfgPath)...)
	if out, err := format.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kafka: formatting the storage: %w\n%s", err, out)
	}
	// The heap and GC of test/brokers/kafka's broker.
	args := append(append([]string{"-Xms64m", "-Xmx512m", "-Dfreshet.kafka.loglevel=WARN"}, common...), "-cp", inst.Classpath, "kafka.Kafka", cfgPath)
	cmd := exec.Command(java, args...)
	cmd.Dir = kdir
	b, err := startBrokerProc("kafka "+inst.Version, cmd, filepath.Join(kdir, "broker.log"))
	if err != nil {
		return nil, err
	}
	b.addr = addr
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTimeout(time.Second), kgo.RequestRetries(0))
	if err != nil {
		b.kill()
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(kafkabroker.StartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, err := adm.Metadata(ctx)
		cancel()
		if err == nil && len(m.Brokers) > 0 && m.Controller >= 0 {
			logf("kafka %s: pid %d, %s", inst.Version, b.pid(), addr)
			return b, nil
		}
		select {
		case <-b.exited:
			return nil, fmt.Errorf("kafka broker exited before it was ready: %v\n%s", b.waitErr, b.logTail(30))
		case <-time.After(100 * time.Millisecond): // readiness poll interval
		}
		if time.Now().After(deadline) {
			b.kill()
			return nil, fmt.Errorf("kafka broker not ready after %v (last: %v)\n%s", kafkabroker.StartTimeout, err, b.logTail(30))
		}
	}
}

// startFauxqs runs the fauxqs SQS emulator (`hack/sqs/sqs.sh fauxqs PORT`,
// which execs node) and waits until it answers ListQueues.
func startFauxqs(dir string) (*broker, error) {
	script, err := sqsbroker.Install(sqsbroker.Fauxqs)
	if err != nil {
		return nil, err
	}
	a, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(a)
	cmd := exec.Command("bash", script, sqsbroker.Fauxqs, port)
	cmd.Dir = dir
	b, err := startBrokerProc("fauxqs", cmd, filepath.Join(dir, "fauxqs.log"))
	if err != nil {
		return nil, err
	}
	b.addr = "http://127.0.0.1:" + port
	marker := []byte("listening on http://127.0.0.1:" + port)
	client := sqsClient(b.addr, 1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if out, _ := os.ReadFile(b.logPath); bytes.Contains(out, marker) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err = client.ListQueues(ctx, &awssqs.ListQueuesInput{})
			cancel()
			if err == nil {
				logf("fauxqs: pid %d, %s", b.pid(), b.addr)
				return b, nil
			}
		}
		select {
		case <-b.exited:
			return nil, fmt.Errorf("fauxqs exited before it was ready: %v\n%s", b.waitErr, b.logTail(30))
		case <-time.After(50 * time.Millisecond): // readiness poll interval
		}
		if time.Now().After(deadline) {
			b.kill()
			return nil, errors.Join(errors.New("fauxqs not ready after 30s"), err, errors.New(b.logTail(30)))
		}
	}
}

// sqsHTTPClient keeps up to conns connections to the emulator alive and
// uses no proxy. It leaves Go's transparent compression on: with it off
// (newClient's setting), the SQS source reading fauxqs through this client
// lost a ReceiveMessage response now and then ("use of closed network
// connection" after 4 KiB of a 12.7 KiB body, then an SDK retry), and the
// 10 messages it had received stayed invisible for the 30 s visibility
// timeout. The source itself is measured with the SDK's own client.
func sqsHTTPClient(conns int) *http.Client {
	c := newClient(conns)
	t := c.Transport.(*http.Transport)
	t.Proxy = nil
	t.DisableCompression = false
	return c
}

// sqsClient is an SQS client for an emulator at endpoint, with the static
// credentials of test/brokers/sqs.
func sqsClient(endpoint string, conns int) *awssqs.Client {
	return awssqs.New(sqsOptions(endpoint, conns))
}

func sqsOptions(endpoint string, conns int) awssqs.Options {
	return awssqs.Options{
		Region:       sqsbroker.Region,
		BaseEndpoint: &endpoint,
		Credentials:  sqsbroker.Credentials(),
		HTTPClient:   sqsHTTPClient(conns),
	}
}

// itoa is strconv.Itoa, short for the many ids below.
func itoa(i int) string { return strconv.Itoa(i) }
