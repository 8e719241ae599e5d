package sqs_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	sqssink "github.com/freshetproj/freshet/pkg/sink/sqs"
	"github.com/freshetproj/freshet/pkg/source"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
	sqssource "github.com/freshetproj/freshet/pkg/source/sqs"
	sqsbrokers "github.com/freshetproj/freshet/test/brokers/sqs"
)

// TestEmulators runs the source against both real SQS emulators, started
// once: the conformance suite of package source, then this source's own
// behaviour (the tests each make their own queues).
func TestEmulators(t *testing.T) {
	for _, em := range sqsbrokers.All(t) {
		t.Run(em.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("Conformance", func(t *testing.T) { conformance(t, em) })
			t.Run("Mapping", func(t *testing.T) { mappingOnEmulator(t, em) })
			t.Run("VisibilityExtendedWhileUnsettled", func(t *testing.T) { visibilityExtended(t, em) })
			t.Run("DeletedOnlyAfterAck", func(t *testing.T) { deletedOnlyAfterAck(t, em) })
			t.Run("NackDelay", func(t *testing.T) { nackDelay(t, em) })
			t.Run("BacklogCountsInFlight", func(t *testing.T) { backlogCountsInFlight(t, em) })
		})
	}
}

// conformance: every System is a fresh queue read with a 3s visibility
// timeout; events are sent with the SQS sink (binary style).
func conformance(t *testing.T, em *sqsbrokers.Emulator) {
	sourcetest.Run(t, func(t testing.TB) *sourcetest.System {
		url := em.NewQueue(t, "conformance", nil)
		snk, err := sqssink.Open(t.Context(), &v1alpha1.SQSSink{QueueURL: url, Endpoint: em.Endpoint, Region: em.Region}, sqsbrokers.ClientOptions(t))
		if err != nil {
			t.Fatalf("open sink: %v", err)
		}
		return &sourcetest.System{
			Open: func(t testing.TB) source.Source { return openSource(t, em, url, 3*time.Second) },
			Send: func(t testing.TB, events []*cloudevent.Event) {
				if err := snk.Write(context.Background(), events); err != nil {
					t.Fatalf("send: %v", err)
				}
			},
			Redelivery: 15 * time.Second, // Close and Nack(0) make messages visible at once
		}
	})
}

// openSource opens a source on url, closed at t's end.
func openSource(t testing.TB, em *sqsbrokers.Emulator, url string, vt time.Duration) *sqssource.Source {
	t.Helper()
	spec := &v1alpha1.SQSSource{QueueURL: url, Endpoint: em.Endpoint, Region: em.Region, VisibilityTimeout: &metav1.Duration{Duration: vt}}
	src, err := sqssource.Open(t.Context(), spec, sqsbrokers.ClientOptions(t))
	if err != nil {
		t.Fatalf("open source: %v", err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// sendRaw sends one message with the SDK and returns its MessageId.
func sendRaw(t testing.TB, client *awssqs.Client, in *awssqs.SendMessageInput) string {
	t.Helper()
	out, err := client.SendMessage(t.Context(), in)
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return aws.ToString(out.MessageId)
}

// readN reads until n messages came, or fails t after within.
func readN(t testing.TB, src source.Source, n int, within time.Duration) []source.Message {
	t.Helper()
	var got []source.Message
	for deadline := time.Now().Add(within); len(got) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d of %d messages read", within, len(got), n)
		}
		ms, err := src.Read(t.Context(), n-len(got), 500*time.Millisecond)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		got = append(got, ms...)
	}
	return got
}

// receiveRaw is another receiver on the queue: it long-polls for d and
// returns the bodies it got (their visibility set to vt).
func receiveRaw(t testing.TB, client *awssqs.Client, url string, d time.Duration, vt int32) []string {
	t.Helper()
	var bodies []string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		out, err := client.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: vt,
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
		if len(bodies) > 0 {
			return bodies
		}
	}
	return bodies
}

// queueCounts is visible+in flight+delayed, as GetQueueAttributes says.
func queueCounts(t testing.TB, client *awssqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(t.Context(), &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n
}
