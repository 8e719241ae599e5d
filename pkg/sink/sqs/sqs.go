// Package sqs is the Amazon SQS sink: it sends each event as one message
// with SendMessageBatch, in the binding package source/sqs reads (see
// encode), and returns from Write only when SQS took every one (rule 1 of
// package sink).
package sqs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
	sqssource "github.com/freshetproj/freshet/pkg/source/sqs"
)

const (
	// maxSendAttempts bounds the sends of an entry SQS failed for a reason
	// of its own (SenderFault false), within one Write.
	maxSendAttempts = 4
	// firstBackoff is the wait before the first resend; it doubles.
	firstBackoff = 50 * time.Millisecond
	// maxConcurrentBatches bounds the SendMessageBatch calls one Write
	// has under way.
	maxConcurrentBatches = 4
)

// ErrClosed is what Write returns after Close.
var ErrClosed = errors.New("sqs sink is closed")

// sqsAPI is the part of the SQS client the sink uses.
type sqsAPI interface {
	SendMessageBatch(context.Context, *awssqs.SendMessageBatchInput, ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error)
}

// Sink sends events to one SQS queue.
type Sink struct {
	api      sqsAPI
	queueURL string
	fifo     bool // a FIFO queue: messages need group and deduplication ids
	closed   atomic.Bool
}

// Open returns a Sink for spec's queue; optFns adjust the SQS client (see
// sqssource.NewClient for region and credentials).
func Open(ctx context.Context, spec *v1alpha1.SQSSink, optFns ...func(*awssqs.Options)) (*Sink, error) {
	if spec == nil || spec.QueueURL == "" {
		return nil, errors.New("sqs: no queue URL")
	}
	client, err := sqssource.NewClient(ctx, spec.Region, spec.Endpoint, optFns...)
	if err != nil {
		return nil, err
	}
	return newSink(spec.QueueURL, client), nil
}

func newSink(queueURL string, api sqsAPI) *Sink {
	return &Sink{api: api, queueURL: queueURL, fifo: strings.HasSuffix(queueURL, ".fifo")}
}

// Write sends events in batches of up to 10 (and 1 MiB), several at once,
// and resends the entries SQS failed for a reason of its own. It returns
// nil only when SQS took every event (rule 1); a permanent
// *delivery.Failure when one can never be sent — too large, or refused as
// the sender's fault (rule 3) — though the others were sent; otherwise a
// retriable one (rule 2).
func (s *Sink) Write(ctx context.Context, events []*cloudevent.Event) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var refused []error // for good
	entries := make([]types.SendMessageBatchRequestEntry, 0, len(events))
	sizes := make([]int, 0, len(events))
	for i, e := range events {
		entry, size, err := encode(e, strconv.Itoa(i), s.fifo)
		if err != nil {
			refused = append(refused, err)
			continue
		}
		entries = append(entries, entry)
		sizes = append(sizes, size)
	}

	var mu sync.Mutex
	var failed []error // may pass
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxConcurrentBatches)
	for _, b := range batches(sizes) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			perm, err := s.send(ctx, entries[b[0]:b[1]], events)
			mu.Lock()
			defer mu.Unlock()
			refused = append(refused, perm...)
			if err != nil {
				failed = append(failed, err)
			}
		})
	}
	wg.Wait()
	switch {
	case len(refused) > 0:
		return delivery.Permanent(s.queueURL, errors.Join(append(refused, failed...)...))
	case len(failed) > 0:
		return delivery.AsFailure(s.queueURL, errors.Join(failed...))
	}
	return nil
}

// send sends one batch, resending the entries SQS failed with SenderFault
// false (after firstBackoff, doubling) up to maxSendAttempts times. It
// returns the entries refused as the sender's fault, and an error when
// others were not sent. (The SDK's retryer already retries a call that
// failed as a whole, so such an error is returned at once.)
func (s *Sink) send(ctx context.Context, entries []types.SendMessageBatchRequestEntry, events []*cloudevent.Event) (refused []error, err error) {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		out, err := s.api.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: &s.queueURL, Entries: entries})
		if err != nil {
			return refused, fmt.Errorf("SendMessageBatch: %w", err)
		}
		byID := make(map[string]types.SendMessageBatchRequestEntry, len(entries))
		for _, e := range entries {
			byID[aws.ToString(e.Id)] = e
		}
		var again []types.SendMessageBatchRequestEntry
		var lastErr error
		for _, f := range out.Failed {
			entry, ok := byID[aws.ToString(f.Id)]
			if !ok {
				continue
			}
			i, _ := strconv.Atoi(aws.ToString(f.Id))
			err := fmt.Errorf("event %s: %s: %s", events[i].ID, aws.ToString(f.Code), aws.ToString(f.Message))
			if f.SenderFault {
				refused = append(refused, err)
				continue
			}
			again, lastErr = append(again, entry), err
		}
		if len(again) == 0 {
			return refused, nil
		}
		if attempt == maxSendAttempts {
			return refused, fmt.Errorf("%d events not taken after %d attempts, last: %w", len(again), attempt, lastErr)
		}
		select {
		case <-ctx.Done():
			return refused, fmt.Errorf("%d events not taken: %w", len(again), ctx.Err())
		case <-time.After(backoff):
		}
		entries, backoff = again, 2*backoff
	}
}

// Close makes later Writes fail; Writes under way finish.
func (s *Sink) Close() error {
	s.closed.Store(true)
	return nil
}
