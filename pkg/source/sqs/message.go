package sqs

import (
	"context"
	"fmt"
	"time"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
)

// maxVisibility is SQS's longest visibility timeout.
const maxVisibility = 12 * time.Hour

// message is one received SQS message. Its fields after event are guarded
// by src.mu.
type message struct {
	src     *Source
	event   *cloudevent.Event
	id      string // the SQS MessageId, for logs
	receipt string // this receipt's handle: deletes and visibility changes

	visibleUntil time.Time // when SQS delivers it again unless extended
	lost         bool      // an extension failed: SQS no longer holds it for us
}

func (m *message) Event() *cloudevent.Event { return m.event }

// Ack queues the message's delete; the flusher sends it in a batch within
// flushEvery (rule 3: Close sends every ack made before it). The message
// is not extended any more.
func (m *message) Ack(context.Context) error {
	s := m.src
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return source.ErrClosed // rule 9: it is redelivered
	}
	if _, ok := s.inflight[m]; !ok {
		return nil // already settled
	}
	delete(s.inflight, m)
	s.deletes = append(s.deletes, pendingDelete{m: m})
	if len(s.deletes) >= maxBatch {
		select {
		case s.flush <- struct{}{}:
		default:
		}
	}
	return nil
}

// Nack makes the message visible again after delay, rounded up to whole
// seconds and at most 12h (rule 5); 0 makes it visible at once.
func (m *message) Nack(ctx context.Context, delay time.Duration) error {
	s := m.src
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return source.ErrClosed // rule 9: Close made it visible
	}
	_, ok := s.inflight[m]
	delete(s.inflight, m)
	s.mu.Unlock()
	if !ok {
		return nil // already settled
	}
	_, err := s.api.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
		QueueUrl:          &s.queueURL,
		ReceiptHandle:     &m.receipt,
		VisibilityTimeout: visibilitySeconds(delay),
	})
	if err != nil {
		// Not extended any more, it comes back within a visibility timeout.
		return fmt.Errorf("sqs: nack message %s: %w", m.id, err)
	}
	return nil
}

// visibilitySeconds is a visibility timeout of at least d, in whole
// seconds, capped at SQS's 12h.
func visibilitySeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	d = min(d, maxVisibility)
	return int32((d + time.Second - 1) / time.Second)
}
