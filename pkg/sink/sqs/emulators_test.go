package sqs_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/freshetproj/freshet/pkg/sink"
	"github.com/freshetproj/freshet/pkg/sink/sinktest"
	sqssink "github.com/freshetproj/freshet/pkg/sink/sqs"
	sqssource "github.com/freshetproj/freshet/pkg/source/sqs"
	sqsbrokers "github.com/freshetproj/freshet/test/brokers/sqs"
)

// TestEmulators runs the sink against both real SQS emulators, started
// once: the conformance suite of package sink, then this sink's own
// behaviour (each test with queues of its own).
func TestEmulators(t *testing.T) {
	for _, em := range sqsbrokers.All(t) {
		t.Run(em.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("Conformance", func(t *testing.T) {
				sinktest.Run(t, func(t testing.TB) *sinktest.System {
					url := em.NewQueue(t, "conformance", nil)
					return &sinktest.System{Open: func(t testing.TB) sink.Sink { return openSink(t, em, url) }, Held: held(em, url)}
				})
			})
			t.Run("StructuredWhenBinaryCannotCarryIt", func(t *testing.T) { structuredFallback(t, em) })
			t.Run("FIFOGroupsAndDeduplicates", func(t *testing.T) { fifo(t, em) })
			t.Run("TooLargeIsPermanentOthersSent", func(t *testing.T) { tooLarge(t, em) })
			t.Run("QueueSizeLimit", func(t *testing.T) { queueSizeLimit(t, em) })
		})
	}
}

func openSink(t testing.TB, em *sqsbrokers.Emulator, url string) *sqssink.Sink {
	t.Helper()
	s, err := sqssink.Open(t.Context(), &v1alpha1.SQSSink{QueueURL: url, Endpoint: em.Endpoint, Region: em.Region}, sqsbrokers.ClientOptions(t))
	if err != nil {
		t.Fatalf("open sink: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// held returns what the queue holds so far, as its consumers read it:
// received and deleted, then decoded as the SQS source does.
func held(em *sqsbrokers.Emulator, url string) func(t testing.TB) []*cloudevent.Event {
	var mu sync.Mutex
	var all []*cloudevent.Event
	spec := &v1alpha1.SQSSource{QueueURL: url}
	return func(t testing.TB) []*cloudevent.Event {
		mu.Lock()
		defer mu.Unlock()
		client := em.Client(t)
		for {
			out, err := client.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{
				QueueUrl: aws.String(url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
			})
			if err != nil {
				t.Fatalf("ReceiveMessage: %v", err)
			}
			if len(out.Messages) == 0 {
				return all
			}
			for _, m := range out.Messages {
				all = append(all, sqssource.Decode(m, spec))
				if _, err := client.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatalf("DeleteMessage: %v", err)
				}
			}
		}
	}
}

// waitHeld waits until the queue holds n events and returns them by id.
func waitHeld(t *testing.T, held func(testing.TB) []*cloudevent.Event, n int) map[string]*cloudevent.Event {
	t.Helper()
	byID := map[string]*cloudevent.Event{}
	for deadline := time.Now().Add(20 * time.Second); len(byID) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the queue holds %d events, want %d", len(byID), n)
		}
		for _, e := range held(t) {
			byID[e.ID] = e
		}
	}
	return byID
}

func newEvent(id string, mod func(e *cloudevent.Event)) *cloudevent.Event {
	e := &cloudevent.Event{SpecVersion: "1.0", ID: id, Source: "/sinktest", Type: "dev.freshet.sinktest", DataContentType: "text/plain", Data: []byte("data of " + id)}
	if mod != nil {
		mod(e)
	}
	return e
}

// permanent fails t unless err is a permanent *delivery.Failure.
func permanent(t *testing.T, err error) {
	t.Helper()
	var f *delivery.Failure
	if !errors.As(err, &f) || f.Retriable() {
		t.Fatalf("Write: %v, want a permanent *delivery.Failure", err)
	}
	t.Logf("Write: %v", err)
}
