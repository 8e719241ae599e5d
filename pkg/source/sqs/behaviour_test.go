package sqs_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/freshetproj/freshet/pkg/source/sourcetest"
	sqsbrokers "github.com/freshetproj/freshet/test/brokers/sqs"
)

// visibilityExtended: a message read and not settled for well over twice
// its 2s visibility timeout is not delivered to another receiver, since
// the source extends it; once acked it is gone.
func visibilityExtended(t *testing.T, em *sqsbrokers.Emulator) {
	client := em.Client(t)
	url := em.NewQueue(t, "extend", map[string]string{"VisibilityTimeout": "2"})
	src := openSource(t, em, url, 2*time.Second)
	sendRaw(t, client, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("slow work")})
	m := readN(t, src, 1, 20*time.Second)[0]

	began := time.Now()
	if got := receiveRaw(t, client, url, 5*time.Second, 30); len(got) > 0 {
		t.Fatalf("another receiver got %q %v after the read, while the source should keep it invisible", got, time.Since(began))
	}
	if err := m.Ack(t.Context()); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	sourcetest.Eventually(t, 10*time.Second, "an empty queue once acked", func() (bool, string) {
		n := queueCounts(t, client, url)
		return n == 0, fmt.Sprint(n, " messages")
	})
}

// deletedOnlyAfterAck: with a 30s visibility timeout, a message read and
// not acked is back at once after Close (released, not timed out); one
// acked just before Close is deleted by Close (rule 3).
func deletedOnlyAfterAck(t *testing.T, em *sqsbrokers.Emulator) {
	client := em.Client(t)
	url := em.NewQueue(t, "ackdelete", nil)

	src := openSource(t, em, url, 30*time.Second)
	sendRaw(t, client, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("not acked")})
	readN(t, src, 1, 20*time.Second)
	if err := src.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if got := receiveRaw(t, client, url, 10*time.Second, 1); len(got) != 1 || got[0] != "not acked" {
		t.Fatalf("after Close, another receiver got %q, want the unacked message back at once", got)
	}

	src = openSource(t, em, url, 30*time.Second)
	ms := readN(t, src, 1, 20*time.Second)
	if err := ms[0].Ack(t.Context()); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if err := src.Close(); err != nil { // right after the ack: Close sends the delete
		t.Fatalf("close: %v", err)
	}
	if err := ms[0].Ack(t.Context()); err == nil {
		t.Error("ack after close: no error, want source.ErrClosed")
	}
	sourcetest.Eventually(t, 10*time.Second, "an empty queue once acked and closed", func() (bool, string) {
		n := queueCounts(t, client, url)
		return n == 0, fmt.Sprint(n, " messages")
	})
}

// nackDelay: a message nacked with a delay of 2s comes back no sooner.
func nackDelay(t *testing.T, em *sqsbrokers.Emulator) {
	client := em.Client(t)
	url := em.NewQueue(t, "nack", nil)
	src := openSource(t, em, url, 30*time.Second)
	sendRaw(t, client, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("again later")})
	m := readN(t, src, 1, 20*time.Second)[0]
	nacked := time.Now()
	if err := m.Nack(t.Context(), 2*time.Second); err != nil {
		t.Fatalf("nack: %v", err)
	}
	again := readN(t, src, 1, 20*time.Second)[0]
	// SQS clocks count whole seconds: allow a little less than 2s.
	if waited := time.Since(nacked); waited < 1500*time.Millisecond {
		t.Errorf("nacked for 2s, delivered again after %v", waited)
	}
	if again.Event().ID != m.Event().ID {
		t.Errorf("delivered again with id %s, first with %s: want the same (rule 6)", again.Event().ID, m.Event().ID)
	}
	if err := again.Ack(t.Context()); err != nil {
		t.Fatalf("ack: %v", err)
	}
}

// backlogCountsInFlight: the backlog counts messages read and not acked,
// and falls to 0 once they are acked (rule 7).
func backlogCountsInFlight(t *testing.T, em *sqsbrokers.Emulator) {
	client := em.Client(t)
	url := em.NewQueue(t, "backlog", nil)
	src := openSource(t, em, url, 30*time.Second)
	for i := range 5 {
		sendRaw(t, client, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint("m", i))})
	}
	backlog := func(want int64) func() (bool, string) {
		return func() (bool, string) {
			n, err := src.Backlog(t.Context())
			if err != nil {
				t.Fatalf("backlog: %v", err)
			}
			return n == want, fmt.Sprint(n)
		}
	}
	sourcetest.Eventually(t, 10*time.Second, "a backlog of the 5 sent", backlog(5))
	ms := readN(t, src, 5, 20*time.Second)
	sourcetest.Eventually(t, 10*time.Second, "a backlog of the 5 read, in flight", backlog(5))
	for _, m := range ms {
		if err := m.Ack(t.Context()); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	sourcetest.Eventually(t, 10*time.Second, "a backlog of 0 once acked", backlog(0))
}
