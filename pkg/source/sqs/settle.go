package sqs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const (
	// flushEvery is how often queued deletes are sent, when fewer than a
	// batch of 10 wait.
	flushEvery = 50 * time.Millisecond
	// warnAfterAttempts is when a delete that keeps failing for a reason
	// that may pass (a transport error, a fault of SQS's) is logged. It is
	// tried again at every flush until SQS refuses its receipt handle or
	// Close gives up.
	warnAfterAttempts = 20
)

// pendingDelete is an acked message whose delete is queued.
type pendingDelete struct {
	m        *message
	attempts int
}

// flushLoop sends queued deletes every flushEvery, or as soon as a batch
// is ready, until Close (which sends the rest: rule 3).
func (s *Source) flushLoop() {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.flush:
		}
		s.flushDeletes(s.ctx)
	}
}

// flushAll sends the queued deletes until none is left or ctx ends; the
// error says how many acked messages will be delivered again.
func (s *Source) flushAll(ctx context.Context) error {
	for backoff := 20 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		lastErr := s.flushDeletes(ctx)
		s.mu.Lock()
		left := len(s.deletes)
		s.mu.Unlock()
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqs: %d acked messages of %s were not deleted and will be delivered again: %w", left, s.queueURL, errors.Join(lastErr, ctx.Err()))
		case <-time.After(backoff):
		}
	}
}

// flushDeletes sends the queued deletes in batches of 10 and queues again
// those that failed for a reason that may pass. A receipt handle SQS
// refuses (the message's visibility ran out: it is delivered again) is
// logged and dropped. It returns the last error that may pass.
func (s *Source) flushDeletes(ctx context.Context) error {
	s.mu.Lock()
	queued := s.deletes
	s.deletes = nil
	s.mu.Unlock()
	var retry []pendingDelete
	var lastErr error
	for chunk := range slices.Chunk(queued, maxBatch) {
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, d := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: &d.m.receipt}
		}
		out, err := s.api.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: &s.queueURL, Entries: entries})
		if err != nil {
			lastErr = err
			retry = append(retry, chunk...)
			continue
		}
		for _, f := range out.Failed {
			i, err := strconv.Atoi(aws.ToString(f.Id))
			if err != nil || i < 0 || i >= len(chunk) {
				continue
			}
			if f.SenderFault {
				s.log.Warn("acked message not deleted: it will be delivered again", "message", chunk[i].m.id, "code", aws.ToString(f.Code), "reason", aws.ToString(f.Message))
				continue
			}
			lastErr = fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
			retry = append(retry, chunk[i])
		}
	}
	for i := range retry {
		if ctx.Err() != nil {
			break // interrupted by Close, which tries again
		}
		if retry[i].attempts++; retry[i].attempts == warnAfterAttempts {
			s.log.Warn("acked message not deleted yet; still trying", "message", retry[i].m.id, "attempts", retry[i].attempts, "error", lastErr)
		}
	}
	if len(retry) > 0 {
		s.mu.Lock()
		s.deletes = append(retry, s.deletes...)
		s.mu.Unlock()
	}
	return lastErr
}

// extendLoop keeps the messages read and not settled invisible to other
// receivers (rule 2 without duplicates): every vt/6 it extends, by vt, each
// one with less than 2vt/3 left, so an extension has at least vt/2 to land.
func (s *Source) extendLoop() {
	t := time.NewTicker(s.vt / 6)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.extendDue(s.ctx)
	}
}

// dueForExtension picks, of msgs, those to extend at now.
func dueForExtension(msgs []*message, now time.Time, vt time.Duration) []*message {
	var due []*message
	for _, m := range msgs {
		if !m.lost && m.visibleUntil.Sub(now) < 2*vt/3 {
			due = append(due, m)
		}
	}
	return due
}

func (s *Source) extendDue(ctx context.Context) {
	s.mu.Lock()
	unsettled := make([]*message, 0, len(s.inflight))
	for m := range s.inflight {
		unsettled = append(unsettled, m)
	}
	due := dueForExtension(unsettled, time.Now(), s.vt)
	s.mu.Unlock()
	for chunk := range slices.Chunk(due, maxBatch) {
		began := time.Now()
		failed, err := s.changeVisibility(ctx, chunk, int32(s.vt/time.Second))
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("extending the visibility of messages being buffered", "messages", len(chunk), "error", err)
			}
			continue // the next tick tries again
		}
		s.mu.Lock()
		for i, m := range chunk {
			if f, ok := failed[i]; ok {
				m.lost = true
				s.log.Warn("message being buffered could not be kept invisible: it may be delivered again", "message", m.id, "code", aws.ToString(f.Code), "reason", aws.ToString(f.Message))
				continue
			}
			m.visibleUntil = began.Add(s.vt)
		}
		s.mu.Unlock()
	}
}

// release makes msgs visible again at once (rule 2, at Close). Failures are
// logged: those messages come back when their visibility runs out.
func (s *Source) release(ctx context.Context, msgs []*message) {
	for chunk := range slices.Chunk(msgs, maxBatch) {
		failed, err := s.changeVisibility(ctx, chunk, 0)
		if err == nil && len(failed) == 0 {
			continue
		}
		s.log.Warn("making unacked messages visible again; they come back when their visibility runs out", "messages", len(chunk), "failed", len(failed), "error", err)
	}
}

// changeVisibility sets the visibility timeout of up to 10 messages and
// returns the entries that failed, by index.
func (s *Source) changeVisibility(ctx context.Context, msgs []*message, secs int32) (map[int]types.BatchResultErrorEntry, error) {
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: &m.receipt, VisibilityTimeout: secs}
	}
	out, err := s.api.ChangeMessageVisibilityBatch(ctx, &awssqs.ChangeMessageVisibilityBatchInput{QueueUrl: &s.queueURL, Entries: entries})
	if err != nil {
		return nil, err
	}
	failed := map[int]types.BatchResultErrorEntry{}
	for _, f := range out.Failed {
		if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil {
			failed[i] = f
		}
	}
	return failed, nil
}
