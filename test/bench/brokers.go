package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	sqsbroker "github.com/freshetproj/freshet/test/brokers/sqs"
)

// broker is an SQS emulator the benchmark runs as a
// child process in a process group of its own. test/brokers' Start
// functions need a testing.TB, so the benchmark starts them itself the way
// those packages do, from the installations their exported Install
// functions provide (hack/kafka/kafka.sh, hack/sqs/sqs.sh).
type broker struct {
	name    string
	addr    string // http://host:port
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
