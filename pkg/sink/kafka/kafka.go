// Package kafka is the Kafka sink: each event becomes a record in the
// CloudEvents Kafka binding, produced by an idempotent producer that waits
// for all in-sync replicas, keyed by the event's partitionkey extension.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
	kafkasource "github.com/freshetproj/freshet/pkg/source/kafka"
)

// producer is what the sink uses of a franz-go client.
type producer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
	Close()
}

// Sink produces events to one topic.
type Sink struct {
	mode string
	dest string // names the topic in failures
	cl   producer

	mu     sync.RWMutex // Writes hold it shared; Close waits for them
	closed bool
}

// Open connects a sink to spec's brokers; spec must be defaulted. It does
// not reach the brokers yet: the first Write does.
func Open(_ context.Context, spec *v1alpha1.KafkaSink) (*Sink, error) {
	return open(spec)
}

// open is Open with extra franz-go options (tests shrink the batch size).
func open(spec *v1alpha1.KafkaSink, extra ...kgo.Opt) (*Sink, error) {
	if spec.Topic == "" {
		return nil, errors.New("kafka sink: no topic")
	}
	opts, err := kafkasource.ConnOpts(spec.Brokers, spec.TLS, spec.SASL)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(spec.Topic),
		// Idempotence is franz-go's default, and needs acks from all.
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka sink %s: %w", spec.Topic, err)
	}
	return &Sink{mode: spec.Mode, dest: "kafka:" + spec.Topic, cl: cl}, nil
}

// Write produces every event and returns nil only once the broker
// acknowledged them all (rule 1). A record Kafka will always refuse (too
// large) makes the error permanent (rule 3); any other error may pass.
// Safe for concurrent use (rule 5).
func (s *Sink) Write(ctx context.Context, events []*cloudevent.Event) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return delivery.AsFailure(s.dest, errors.New("kafka sink is closed"))
	}
	records := make([]*kgo.Record, len(events))
	for i, e := range events {
		r, err := encode(e, s.mode)
		if err != nil {
			return delivery.Permanent(s.dest, fmt.Errorf("event %s: %w", e.ID, err))
		}
		records[i] = r
	}
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		first    error
		tooLarge error
	)
	wg.Add(len(records))
	for _, r := range records {
		s.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			if err == nil {
				return
			}
			errMu.Lock()
			defer errMu.Unlock()
			if first == nil {
				first = err
			}
			if tooLarge == nil && (errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)) {
				tooLarge = fmt.Errorf("record of %d bytes: %w", len(r.Value), err)
			}
		})
	}
	wg.Wait()
	switch {
	case tooLarge != nil:
		return delivery.Permanent(s.dest, tooLarge)
	case first != nil:
		return delivery.AsFailure(s.dest, first)
	}
	return nil
}

// Close waits for the writes in flight and closes the client; later
// writes fail.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.cl.Close()
	}
	return nil
}
