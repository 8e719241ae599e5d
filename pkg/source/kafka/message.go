package kafka

import (
	"context"
	"slices"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
)

// message is one record read, settled once by Ack or Nack.
type message struct {
	e      *cloudevent.Event
	src    *Source
	part   *partition
	offset int64

	due     time.Time // when a nacked message is delivered again
	settled bool      // acked or nacked; under src.mu
}

func (m *message) Event() *cloudevent.Event { return m.e }

// Ack lets the partition's commit point pass the record once every record
// before it is acked too (rule 4); the commit loop or Close sends it
// (rule 3). An ack after the partition was revoked does not count: the
// new owner reads the record again.
func (m *message) Ack(context.Context) error {
	s := m.src
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return source.ErrClosed
	}
	if !m.settled && !m.part.gone {
		m.part.ack(m.offset)
	}
	m.settled = true
	return nil
}

// Nack delivers the record again from memory, no sooner than delay (rule
// 5). Its partition's commit point stays below it until it is acked, so
// if the source closes or the partition is revoked first, Kafka delivers
// it again instead.
func (m *message) Nack(_ context.Context, delay time.Duration) error {
	s := m.src
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return source.ErrClosed
	}
	if m.settled || m.part.gone {
		return nil
	}
	m.settled = true
	again := &message{e: m.e.Clone(), src: s, part: m.part, offset: m.offset, due: time.Now().Add(delay)}
	i, _ := slices.BinarySearchFunc(s.retries, again.due, func(r *message, due time.Time) int {
		return r.due.Compare(due)
	})
	s.retries = slices.Insert(s.retries, i, again)
	return nil
}

// dueRetries takes up to max nacked messages due at now, skipping those
// of partitions no longer assigned, and returns when the next is due (zero
// if none waits). Callers hold s.mu.
func (s *Source) dueRetries(now time.Time, max int) (due []source.Message, next time.Time) {
	n := 0
	for n < len(s.retries) && len(due) < max && !s.retries[n].due.After(now) {
		if m := s.retries[n]; !m.part.gone {
			due = append(due, m)
		}
		n++
	}
	s.retries = s.retries[n:]
	if len(s.retries) > 0 {
		next = s.retries[0].due
	}
	return due, next
}
