// Package sqs runs real SQS emulators for tests, as child processes on
// loopback ports:
//
//   - fauxqs (Node.js, from npm): StartFauxqs
//   - ElasticMQ (Scala/Pekko on the JVM, from Maven Central): StartElasticMQ
//
// Both speak the SQS JSON protocol that aws-sdk-go-v2 uses. hack/sqs/sqs.sh
// installs them into a cache once (about 30 s the first time; it needs node
// >= 20, npm, java and mvn, and the npm registry and Maven Central), and
// runs them. If the emulators cannot be had or do not start, the test fails
// saying what is missing: it never skips.
//
//	func TestSomething(t *testing.T) {
//		for _, emu := range sqs.All(t) {
//			t.Run(emu.Name, func(t *testing.T) {
//				t.Parallel()
//				client := emu.Client(t)
//				// client.CreateQueue(...), or give emu.Endpoint and
//				// emu.Region to the code under test.
//			})
//		}
//	}
//
// Each call starts a fresh, empty emulator that is stopped at the test's
// cleanup. fauxqs starts in about 0.6-0.8 s (1-4 s next to a starting
// JVM), ElasticMQ in 3-3.5 s (up to 6 s on a busy machine); share one per
// test where you can. Both listen on
// 127.0.0.1 only, use region us-east-1 and account 000000000000, keep
// everything in memory, and return queue URLs of the form
// http://127.0.0.1:<port>/000000000000/<queue>.
//
// Where they behave alike (checked by sqs_test.go): batches of at most 10,
// message attributes (String, Number, Binary and custom-suffixed types)
// with AWS-correct MD5s, long polling that returns as soon as a message
// arrives, ChangeMessageVisibility, ApproximateNumberOfMessages{,NotVisible,
// Delayed}, 1 MiB message limit, and the SDK's typed errors (errors.As with
// types.QueueDoesNotExist, ...). Where they differ (pinned by sqs_test.go):
//
//   - smithy.APIError.ErrorCode: fauxqs gives AWS's query-compatible codes
//     ("AWS.SimpleQueueService.NonExistentQueue"), as real SQS does;
//     ElasticMQ gives "com.amazonaws.sqs#QueueDoesNotExist". Match errors
//     with errors.As on the SDK's types, not by code string.
//   - fauxqs finds a queue by the exact QueueUrl string it returned;
//     ElasticMQ by the queue name at the end of any URL. Use the URL from
//     CreateQueue or GetQueueUrl, never one built by hand.
//   - A receipt handle that was never issued: ElasticMQ answers
//     ReceiptHandleIsInvalid, as AWS does; fauxqs accepts it silently.
//   - Validation errors: fauxqs says InvalidParameterValue (as AWS does),
//     ElasticMQ InvalidAttributeValue.
//   - SenderId is the account id on fauxqs, the client's IP on ElasticMQ.
//     GetQueueAttributes(All) on ElasticMQ lacks MaximumMessageSize and
//     MessageRetentionPeriod.
//   - Speed: fauxqs answers a 1 KiB SendMessage in about 0.6 ms, ElasticMQ
//     (C1-only JVM, tuned for start-up) in 3-7 ms, and takes 0.3-0.9 s for a
//     1 MiB message.
package sqs

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
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/freshetproj/freshet/test/internal/child"
)

// Names of the emulators, as in Emulator.Name.
const (
	Fauxqs    = "fauxqs"
	ElasticMQ = "elasticmq"
)

// Region is the AWS region both emulators use in queue ARNs.
const Region = "us-east-1"

// AccountID is the account both emulators put in queue URLs and ARNs.
const AccountID = "000000000000"

// Static credentials for the emulators; neither checks them, but the SDK
// signs every request.
const (
	AccessKeyID     = "freshet"
	SecretAccessKey = "freshet-secret"
)

// Emulator is a running SQS emulator.
type Emulator struct {
	// Name is Fauxqs or ElasticMQ.
	Name string
	// Endpoint is the emulator's base URL, http://127.0.0.1:<port>.
	Endpoint string
	// Region is the region to configure clients with (Region).
	Region string
	// LogFile holds the emulator's stdout and stderr.
	LogFile string
	// StartupTime is how long the emulator took from exec until it answered
	// ListQueues.
	StartupTime time.Duration
}

// Client returns an aws-sdk-go-v2 SQS client for the emulator, with static
// credentials, BaseEndpoint set to Endpoint and nothing read from the
// environment or ~/.aws. Its idle connections are closed at t's cleanup.
func (e *Emulator) Client(t testing.TB, optFns ...func(*awssqs.Options)) *awssqs.Client {
	t.Helper()
	hc := httpClient()
	t.Cleanup(hc.CloseIdleConnections)
	return awssqs.New(e.Options(hc), optFns...)
}

// Options are aws-sdk-go-v2 SQS client options for the emulator, for code
// under test that builds its own client. hc may be nil for the SDK's default
// HTTP client.
func (e *Emulator) Options(hc awssqs.HTTPClient) awssqs.Options {
	o := awssqs.Options{
		Region:       e.Region,
		BaseEndpoint: aws.String(e.Endpoint),
		Credentials:  Credentials(),
	}
	if hc != nil {
		o.HTTPClient = hc
	}
	return o
}

// httpClient is a client of its own (so its connections can be closed)
// that never uses a proxy.
func httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &http.Client{Transport: tr}
}

// Credentials returns a provider of the static test credentials.
func Credentials() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, Source: "freshet test/brokers/sqs"}, nil
	})
}

// StartFauxqs starts a fauxqs emulator that is stopped at t's cleanup.
func StartFauxqs(t testing.TB) *Emulator {
	t.Helper()
	e, err := start(t, Fauxqs)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// StartElasticMQ starts an ElasticMQ emulator that is stopped at t's
// cleanup.
func StartElasticMQ(t testing.TB) *Emulator {
	t.Helper()
	e, err := start(t, ElasticMQ)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// All starts both emulators (in parallel), fauxqs first in the result.
func All(t testing.TB) []*Emulator {
	t.Helper()
	names := []string{Fauxqs, ElasticMQ}
	emus := make([]*Emulator, len(names))
	errs := make([]error, len(names))
	// Install first (in turn, as the script takes one lock for both), so
	// that a failure is reported once.
	for _, name := range names {
		if _, err := Install(name); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { emus[i], errs[i] = start(t, name) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return emus
}

// Startup deadlines: generous, for a loaded 2-core machine running -race
// tests in parallel. Readiness is polled, so a fast start returns at once.
var startTimeout = map[string]time.Duration{
	Fauxqs:    30 * time.Second,
	ElasticMQ: 90 * time.Second,
}

// start runs `hack/sqs/sqs.sh <name> <port>` and waits until the emulator
// answers ListQueues. It only reports errors (no t.Fatal), so All can call
// it from several goroutines.
func start(t testing.TB, name string) (*Emulator, error) {
	script, err := Install(name)
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	// A free port can be taken by someone else between our probe and the
	// emulator's bind: try again on a fresh port when that is the failure.
	for attempt := 1; ; attempt++ {
		e, err := startOnce(t, script, name, dir, attempt)
		if err == nil || !errors.Is(err, errPortInUse) || attempt == 3 {
			return e, err
		}
	}
}

var errPortInUse = errors.New("port already in use")

// readyMarker is what each emulator logs once it listens on the port (%d):
// hack/sqs/fauxqs.mjs's line, and ElasticMQ's TheSQSRestServerBuilder's.
var readyMarker = map[string]string{
	Fauxqs:    "listening on http://127.0.0.1:%d",
	ElasticMQ: "bind address 127.0.0.1:%d",
}

func startOnce(t testing.TB, script, name, dir string, attempt int) (*Emulator, error) {
	ports, err := child.FreePorts(1)
	if err != nil {
		return nil, fmt.Errorf("sqs: %s: finding a free loopback port: %w", name, err)
	}
	port := ports[0]
	logPath := filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, attempt))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("sqs: %s: %w", name, err)
	}
	defer logFile.Close() // the child has its own descriptor

	cmd := exec.Command("bash", script, name, strconv.Itoa(port))
	cmd.Dir = dir // where the JVM would drop hs_err files
	cmd.Stdin = nil
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = child.SysProcAttr() // own process group; SIGKILL if the test process dies (Linux)

	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sqs: %s: starting %s: %w", name, script, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop := func() { stopProcess(cmd, exited) }

	e := &Emulator{
		Name:     name,
		Endpoint: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Region:   Region,
		LogFile:  logPath,
	}
	fail := func(format string, args ...any) (*Emulator, error) {
		stop()
		msg := fmt.Sprintf(format, args...)
		tail := child.TailFile(logPath, 4<<10)
		err := fmt.Errorf("sqs: %s on %s %s (started by %s %s %d; log %s):\n--- last output ---\n%s",
			name, e.Endpoint, msg, script, name, port, logPath, tail)
		if portInUse(tail) {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return nil, err
	}

	hc := httpClient()
	defer hc.CloseIdleConnections()
	client := awssqs.New(e.Options(hc), func(o *awssqs.Options) { o.RetryMaxAttempts = 1 })
	deadline := time.Now().Add(startTimeout[name])
	// Ready when the emulator has logged that it bound the port (so that
	// what answers is this emulator, not another process that took the port
	// first) and answers ListQueues.
	marker := fmt.Sprintf(readyMarker[name], port)
	lastErr := fmt.Errorf("its output has no %q yet", marker)
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		if out, err := os.ReadFile(logPath); err == nil && bytes.Contains(out, []byte(marker)) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, lastErr = client.ListQueues(ctx, &awssqs.ListQueuesInput{})
			cancel()
			if lastErr == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			return fail("was not ready within %s: %v", startTimeout[name], lastErr)
		}
		select {
		case <-exited:
			return fail("exited before it was ready (%v)", waitErr)
		case <-time.After(delay):
		}
	}
	e.StartupTime = time.Since(began)
	t.Cleanup(stop)
	return e, nil
}

// stopProcess asks the emulator's process group to stop, then kills it.
func stopProcess(cmd *exec.Cmd, exited <-chan struct{}) {
	child.SignalGroup(cmd, child.Terminate)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
	}
	// Also whatever the emulator may have started in its group.
	child.SignalGroup(cmd, child.Kill)
	<-exited
}

func portInUse(output string) bool {
	return strings.Contains(output, "EADDRINUSE") || // node
		strings.Contains(output, "Address already in use") || // JVM
		strings.Contains(output, "BindException")
}

var installs = map[string]*installation{Fauxqs: {}, ElasticMQ: {}}

type installation struct {
	once   sync.Once
	script string
	err    error
}

// Install fills the cache for the named emulator (Fauxqs or ElasticMQ) with
// `hack/sqs/sqs.sh install <name>`, once per process, and returns the
// script's path.
func Install(name string) (string, error) {
	in, ok := installs[name]
	if !ok {
		return "", fmt.Errorf("sqs: no emulator named %q (want %s or %s)", name, Fauxqs, ElasticMQ)
	}
	in.once.Do(func() { in.script, in.err = runInstall(name) })
	return in.script, in.err
}

func runInstall(name string) (string, error) {
	what := map[string]string{
		Fauxqs:    "the fauxqs SQS emulator (Node.js, from npm)",
		ElasticMQ: "the ElasticMQ SQS emulator (JVM, from Maven Central)",
	}[name]
	dir, err := child.Script("sqs", what, "install", name)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("sqs: hack/sqs/sqs.sh install %s printed %s: %w", name, dir, err)
	}
	root, err := child.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("sqs: %w", err)
	}
	return filepath.Join(root, "hack", "sqs", "sqs.sh"), nil
}
