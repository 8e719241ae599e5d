package sqs

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/freshetproj/freshet/pkg/source"
)

// maxWaitSeconds is SQS's longest long poll.
const maxWaitSeconds = 20

// polled is what one long poll received.
type polled struct {
	msgs []*message
	err  error
}

// Read returns up to max messages, waiting at most maxWait for the first
// (rule 1). It keeps one long poll under way: the poll waits
// waitSeconds(maxWait), whole seconds, so it may outlast a Read that gave
// up waiting for it; what it receives is kept (in flight and extended) for
// the next Read. This way a short maxWait (the router's is 500ms) neither
// keeps a Read waiting longer nor turns into a loop of short polls, which
// on SQS cost a request each and sample only some of the queue's servers.
// Once the first messages are in, Read fills up to max with polls that do
// not wait.
func (s *Source) Read(ctx context.Context, max int, maxWait time.Duration) ([]source.Message, error) {
	if s.isClosed() {
		return nil, source.ErrClosed
	}
	if max <= 0 {
		return nil, nil
	}
	if len(s.ready) == 0 {
		if s.polling == nil {
			s.polling = s.startPoll(min(max, maxBatch), waitSeconds(maxWait))
		}
		t := time.NewTimer(maxWait)
		defer t.Stop()
		select {
		case p := <-s.polling:
			s.polling = nil
			if p.err != nil {
				return nil, p.err
			}
			s.ready = p.msgs
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.ctx.Done():
			return nil, source.ErrClosed
		}
		for len(s.ready) > 0 && len(s.ready) < max {
			more, err := s.receive(ctx, min(max-len(s.ready), maxBatch), 0)
			if err != nil || len(more) == 0 {
				break // what is ready is returned; an error comes back next time
			}
			s.ready = append(s.ready, more...)
		}
	}
	n := min(max, len(s.ready))
	out := make([]source.Message, n)
	for i, m := range s.ready[:n] {
		out[i] = m
	}
	s.ready = s.ready[n:]
	return out, nil
}

// startPoll starts a long poll that Close interrupts. (SQS may hide the
// messages an interrupted poll took for a visibility timeout: they come
// back after it, as rule 2 allows.)
func (s *Source) startPoll(n int, wait int32) <-chan polled {
	done := make(chan polled, 1)
	go func() {
		msgs, err := s.receive(s.ctx, n, wait)
		if s.ctx.Err() != nil {
			err = source.ErrClosed
		}
		done <- polled{msgs, err}
	}()
	return done
}

// waitSeconds is the long poll's WaitTimeSeconds for a Read's maxWait: at
// least 1s for any positive maxWait (see Read), rounded up, at most 20s;
// 0 (a short poll) for a Read that does not wait.
func waitSeconds(maxWait time.Duration) int32 {
	if maxWait <= 0 {
		return 0
	}
	secs := (maxWait + time.Second - 1) / time.Second
	return int32(min(secs, maxWaitSeconds))
}

// receive calls ReceiveMessage once and tracks what it got as in flight;
// if the source closed meanwhile, it makes those messages visible again
// (rule 2) and returns ErrClosed.
func (s *Source) receive(ctx context.Context, n int, wait int32) ([]*message, error) {
	began := time.Now()
	out, err := s.api.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl:              &s.queueURL,
		MaxNumberOfMessages:   int32(n),
		WaitTimeSeconds:       wait,
		VisibilityTimeout:     int32(s.vt / time.Second),
		MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameSentTimestamp,
			types.MessageSystemAttributeNameApproximateReceiveCount,
			types.MessageSystemAttributeNameMessageGroupId,
		},
	})
	if err != nil {
		return nil, err
	}
	msgs := make([]*message, len(out.Messages))
	for i, m := range out.Messages {
		if n := m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]; n != "" && n != "1" {
			// A queue's redrive policy is what ends a message that keeps coming back.
			s.log.Debug("message delivered again", "message", aws.ToString(m.MessageId), "receiveCount", n)
		}
		msgs[i] = &message{
			src:          s,
			event:        Decode(m, &s.spec),
			id:           aws.ToString(m.MessageId),
			receipt:      aws.ToString(m.ReceiptHandle),
			visibleUntil: began.Add(s.vt), // SQS's clock started after began
		}
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		for _, m := range msgs {
			s.inflight[m] = struct{}{}
		}
	}
	s.mu.Unlock()
	if closed {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		s.release(ctx, msgs)
		return nil, source.ErrClosed
	}
	return msgs, nil
}
