package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/freshetproj/freshet/internal/poll"
	sqsbrokers "github.com/freshetproj/freshet/test/brokers/sqs"
)

// TestSQSFromZeroExactCounts: a function at zero fed by an SQS queue
// (fauxqs) wakes when messages arrive; every message reaches the sink
// queue as exactly one distinct event, and the function returns to zero.
func TestSQSFromZeroExactCounts(t *testing.T) {
	const n = 2000
	em := sqsbrokers.StartFauxqs(t)
	cl := em.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	queue := func(name string) string {
		out, err := cl.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatalf("create queue %s: %v", name, err)
		}
		return *out.QueueUrl
	}
	inURL, outURL := queue("in"), queue("out")
	// freshet dev finds credentials the usual way: here, the environment.
	t.Setenv("AWS_ACCESS_KEY_ID", sqsbrokers.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sqsbrokers.SecretAccessKey)
	t.Setenv("AWS_REGION", em.Region)
	yaml := fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: q
spec:
  vertices:
    - name: in
      source: {sqs: {queueURL: %q, endpoint: %q}}
    - name: fn
      function:
        spec:
          container: {command: [%q]}
          scale: {min: 0, max: 2, containerConcurrency: 16, idleTimeout: 2s, scaleDownWindow: 1s}
    - name: out
      sink: {sqs: {queueURL: %q, endpoint: %q}}
  edges:
    - {from: in, to: fn}
    - {from: fn, to: out}
`, inURL, em.Endpoint, bins.noop, outURL, em.Endpoint)
	path := filepath.Join(t.TempDir(), "sqs.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	in := startFreshet(t, freePort(t), t.TempDir(), path)
	if r := in.ready(t, "default/q-fn"); r != 0 {
		t.Fatalf("%d replicas before any message, want 0", r)
	}

	sentIDs := map[string]string{} // MessageId → body
	for i := 0; i < n; i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for j := i; j < i+10; j++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), MessageBody: aws.String(fmt.Sprintf("m-%d", j))})
		}
		out, err := cl.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(inURL), Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("send: %v %v", err, out)
		}
		for _, s := range out.Successful {
			sentIDs[*s.MessageId] = ""
		}
	}

	var mu sync.Mutex
	got := map[string]int{} // ce_id → times
	poll.True(t, 4*time.Minute, fmt.Sprintf("%d distinct events in the out queue", n), func() bool {
		r, err := cl.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(outURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		var del []types.DeleteMessageBatchRequestEntry
		mu.Lock()
		for i, m := range r.Messages {
			id := ""
			if a, ok := m.MessageAttributes["ce_id"]; ok && a.StringValue != nil {
				id = *a.StringValue
			}
			got[id]++
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
		}
		done := len(got) >= n
		mu.Unlock()
		if len(del) > 0 {
			if _, err := cl.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(outURL), Entries: del}); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}
		return done
	})
	dups := 0
	for id, times := range got {
		if _, ok := sentIDs[id]; !ok {
			t.Errorf("event %q in out was never sent", id)
		}
		dups += times - 1
	}
	if len(got) != n {
		t.Fatalf("%d distinct events in out, want %d", len(got), n)
	}
	if asked := maxScaledTo(in.stderr.snapshot()); asked < 1 {
		t.Fatal("the function was never woken")
	}
	poll.True(t, time.Minute, "the function back at zero", func() bool {
		return in.ready(t, "default/q-fn") == 0 && len(in.childPids(bins.noop)) == 0
	})
	t.Logf("%d messages sqs → function → sqs, %d duplicates", n, dups)
	in.stop()
}
