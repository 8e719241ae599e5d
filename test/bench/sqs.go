package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	sqssource "github.com/freshetproj/freshet/pkg/source/sqs"
	sqsbroker "github.com/freshetproj/freshet/test/brokers/sqs"
)

// sqsReceivers is the number of concurrent receivers of the SQS baseline.
const sqsReceivers = 8

// benchSQS is benchmark 9: an SQS queue on fauxqs pre-filled with K
// messages of 1 KiB, drained by the emulator's own receive + delete
// (baseline) and by the SQS source through a router.Pump into an embedded
// JetStream buffer.
func benchSQS(o options, _ bins, dir string, rep *report) error {
	k := o.sqsMessages
	rep.section("9. SQS source into the buffer (fauxqs)",
		fmt.Sprintf("fauxqs (hack/sqs, Node.js, in memory) holds two queues, each pre-filled with %d messages of %d B (random base64 text; SendMessageBatch of 10, 16 senders). Baseline: %d concurrent receivers, each ReceiveMessage of 10 then DeleteMessageBatch of what it got, until the queue is empty: the emulator's own receive + delete rate. Freshet: pkg/source/sqs.Open + router.Pump (defaults) into an embedded JetStream buffer in the benchmark process, until the buffer holds every message; the source's deletes of acked messages are flushed by its Close. Rates run from the first messages received to the last delete (baseline) or the last buffer write acknowledged (Freshet).", k, o.size, sqsReceivers))
	logf("sqs: starting fauxqs (hack/sqs)")
	emu, err := startFauxqs(dir)
	if err != nil {
		return err
	}
	defer emu.kill()
	client := sqsClient(emu.addr, 32)
	ctx := context.Background()
	var urls []string
	for _, name := range []string{"bench-base", "bench-pump"} {
		out, err := client.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: &name})
		if err != nil {
			return fmt.Errorf("create queue %s: %w", name, err)
		}
		urls = append(urls, *out.QueueUrl)
	}
	restore := freshetGC()
	defer restore()

	body := string(randomPayload(o.size))
	for _, url := range urls {
		logf("sqs: sending %d messages to %s", k, url)
		began := time.Now()
		if err := fillQueue(client, url, body, k); err != nil {
			return err
		}
		rep.note("9: filling %s took %v (%s).", url, time.Since(began).Round(time.Millisecond), fmtRate(float64(k)/time.Since(began).Seconds()))
	}
	settle(o.settle)

	// Baseline: receive + delete.
	cpu := &cpuWatch{}
	cpu.add("this program (receivers)", self)
	cpu.add("fauxqs", func() []int { return []int{emu.pid()} })
	logf("sqs: baseline, %d receivers draining %d messages", sqsReceivers, k)
	base, err := drainQueue(client, urls[0], k, cpu)
	if err != nil {
		return err
	}
	rep.cpu("9 baseline (receive + delete, fauxqs)", base.cpu)
	settle(o.settle)

	// Freshet: the SQS source and the Pump.
	logf("sqs: the SQS source and the Pump into an embedded JetStream buffer")
	opened := time.Now()
	src, err := sqssource.Open(ctx, &v1alpha1.SQSSource{QueueURL: urls[1], Region: sqsbroker.Region, Endpoint: emu.addr},
		// The SDK's own HTTP client, as freshet dev and the activator use.
		func(opt *awssqs.Options) { opt.Credentials = sqsbroker.Credentials() })
	if err != nil {
		return err
	}
	pcpu := &cpuWatch{}
	pcpu.add("this program (SQS source, Pump, embedded JetStream)", self)
	pcpu.add("fauxqs", func() []int { return []int{emu.pid()} })
	pr, err := runPump(dir, "sqs", src, opened, int64(k), 5*time.Minute, pcpu)
	if err != nil {
		return err
	}
	if pr.err != nil {
		return pr.err
	}
	rep.cpu("9 freshet (SQS source + Pump → JetStream)", pr.cpu)
	left, err := queueCount(client, urls[1])
	if err != nil {
		return err
	}
	if pr.pending == int64(k) && left == 0 {
		rep.note("Check (9): the buffer holds %d events = the %d messages sent, and the queue is empty after the source's Close (the Pump wrote %d).", pr.pending, k, pr.written)
	} else {
		rep.note("CHECK FAILED (9): the buffer holds %d events of the %d messages sent; %d messages left in the queue (the Pump wrote %d).", pr.pending, k, left, pr.written)
	}
	rep.note("9: first messages after %v (baseline), %v (SQS source: Open → first Read with messages).", base.join.Round(time.Millisecond), pr.join.Round(time.Millisecond))
	rate := pr.rate(int64(k))
	rep.row("9", fmt.Sprintf("SQS (fauxqs) → buffer, %d messages of %d B (messages/s)", k, o.size), fmtRate(base.rate), fmtRate(rate), "", "")
	rep.row("9", "time to drain the queue", fmtSecs(base.elapsed), fmtSecs(pr.elapsed), "", "")
	return nil
}

// fillQueue sends n messages with SendMessageBatch (10 each) from 16
// goroutines.
func fillQueue(c *awssqs.Client, url, body string, n int) error {
	batches := make(chan int, 64)
	var wg sync.WaitGroup
	var first atomic.Value
	for range 16 {
		wg.Go(func() {
			for from := range batches {
				entries := make([]types.SendMessageBatchRequestEntry, 0, 10)
				for i := from; i < min(from+10, n); i++ {
					id := strconv.Itoa(i - from)
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: &id, MessageBody: &body})
				}
				out, err := c.SendMessageBatch(context.Background(), &awssqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
				if err == nil && len(out.Failed) > 0 {
					err = fmt.Errorf("%d entries failed: %s", len(out.Failed), *out.Failed[0].Code)
				}
				if err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	for from := 0; from < n; from += 10 {
		batches <- from
	}
	close(batches)
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return fmt.Errorf("send to %s: %w", url, err)
	}
	return nil
}

type drainResult struct {
	join    time.Duration
	elapsed time.Duration
	rate    float64
	cpu     string
}

// drainQueue receives and deletes n messages with sqsReceivers receivers.
func drainQueue(c *awssqs.Client, url string, n int, cpu *cpuWatch) (drainResult, error) {
	var r drainResult
	var deleted atomic.Int64
	var firstOnce sync.Once
	var first time.Time
	var lastMu sync.Mutex
	var last time.Time
	var errOnce sync.Once
	var runErr error
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for range sqsReceivers {
		wg.Go(func() {
			for deleted.Load() < int64(n) && ctx.Err() == nil {
				out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				if err != nil {
					if deleted.Load() < int64(n) {
						errOnce.Do(func() { runErr = err })
					}
					return
				}
				if len(out.Messages) == 0 {
					continue
				}
				firstOnce.Do(func() {
					first = time.Now()
					cpu.begin()
				})
				entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
				for i, m := range out.Messages {
					id := strconv.Itoa(i)
					entries[i] = types.DeleteMessageBatchRequestEntry{Id: &id, ReceiptHandle: m.ReceiptHandle}
				}
				dout, err := c.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: entries})
				if err == nil && len(dout.Failed) > 0 {
					err = fmt.Errorf("%d deletes failed: %s", len(dout.Failed), *dout.Failed[0].Code)
				}
				if err != nil {
					errOnce.Do(func() { runErr = err })
					return
				}
				if deleted.Add(int64(len(out.Messages))) >= int64(n) {
					lastMu.Lock()
					if last.IsZero() {
						last = time.Now()
						r.cpu = cpu.end()
						cancel() // the other receivers' long polls
					}
					lastMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if runErr != nil {
		return r, runErr
	}
	if deleted.Load() < int64(n) {
		return r, fmt.Errorf("the baseline deleted %d of %d messages in 5 minutes", deleted.Load(), n)
	}
	r.join = first.Sub(began)
	r.elapsed = last.Sub(first)
	r.rate = float64(n) / r.elapsed.Seconds()
	return r, nil
}

// queueCount is the queue's approximate visible + in flight + delayed.
func queueCount(c *awssqs.Client, url string) (int64, error) {
	names := []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}
	out, err := c.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: names})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, name := range names {
		v, _ := strconv.ParseInt(out.Attributes[string(name)], 10, 64)
		n += v
	}
	return n, nil
}
