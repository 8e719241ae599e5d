package sqs

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
)

var queues atomic.Int64

// NewQueue creates a queue named prefix-<n>, unique in the process (with
// the suffix .fifo when attrs make it a FIFO queue), and returns the URL
// the emulator gave: the only form both emulators accept (see the package
// comment).
func (e *Emulator) NewQueue(t testing.TB, prefix string, attrs map[string]string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, queues.Add(1))
	if attrs["FifoQueue"] == "true" {
		name += ".fifo"
	}
	out, err := e.Client(t).CreateQueue(t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// ClientOptions sets the static test credentials and an HTTP client of its
// own (no proxy) whose idle connections are closed at t's cleanup: for
// code under test that opens its own client (e.g. an SQS source's or
// sink's Open), given Endpoint and Region separately.
func ClientOptions(t testing.TB) func(*awssqs.Options) {
	hc := httpClient()
	t.Cleanup(hc.CloseIdleConnections)
	return func(o *awssqs.Options) {
		o.Credentials = Credentials()
		o.HTTPClient = hc
	}
}
