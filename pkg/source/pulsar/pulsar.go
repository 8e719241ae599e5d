// Package pulsar is the Pulsar source: it reads topics on one subscription
// per vertex with pulsar-client-go and keeps the delivery rules of package
// source.
//
//   - The subscription is Shared by default (messages spread over every
//     router reading it), Key_Shared or Failover as the spec says; it is
//     made by the first Read or Backlog, so Open does not wait for the
//     broker.
//   - A message is acked only when the pump has buffered it (rule 2).
//     Acks are grouped by the client and sent within 100 ms; Close sends
//     those not yet sent before it leaves the subscription (rule 3).
//     Messages read and not acked go back to the subscription when the
//     source closes or its connection drops.
//   - Nack hands the message back to the broker, which delivers it again
//     (to any reader of the subscription) no sooner than the delay (rule
//     5). On a Failover subscription the broker then sends again every
//     message not yet acked (duplicates only).
//   - Messages are read in the binding of Decode; the backlog is the
//     subscription's msgBacklog in the broker's topic stats (rule 7),
//     which counts a batch a producer sent as one message.
//
// A batch that a producer sent as one entry is acked message by message
// only where the broker keeps batch-index acks
// (acknowledgmentAtBatchIndexLevelEnabled, off by default before Pulsar
// 4.1): elsewhere, if the source closes after acking only some of a
// batch's messages, the broker sends the whole batch again (duplicates
// only, which the buffer drops).
package pulsar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
)

// NackDelay is the consumer's negative-ack redelivery delay: a Nack with
// a longer delay is handed to the client that much earlier, so the broker
// delivers it again after the delay asked for; a shorter one waits this.
const NackDelay = 300 * time.Millisecond

// exactNacks keeps the client from rounding nack deadlines down (by 256
// ms by default), which would deliver a message again before its delay.
var exactNacks int64 = 0

// readAhead is how many received messages wait for Read: more than the
// pump takes at once (512), so a Read finds a full batch.
const readAhead = 1000

// OperationTimeout bounds the client's requests to the broker, such as
// subscribing.
const OperationTimeout = 15 * time.Second

// Source is one Pulsar source vertex: a consumer on its subscription.
type Source struct {
	spec  v1alpha1.PulsarSource
	sub   string
	cl    pulsar.Client
	stats *backlogReader
	log   *slog.Logger

	readMu sync.Mutex // one Read at a time; Close waits for it
	subMu  sync.Mutex // orders subscribing and closing
	// subscribing is set while Backlog's subscribe runs, and once done.
	subscribing atomic.Bool
	cons        pulsar.Consumer // made by the first Read or Backlog; under subMu

	mu      sync.Mutex
	closed  bool
	waiting map[*time.Timer]struct{} // nacks not yet handed to the client

	stop    context.CancelFunc // ends a Read in flight
	stopped context.Context
}

// Open makes a source reading spec's topics on subscription sub (spec
// defaulted; an unset EventType or SubscriptionType is defaulted here
// too). It does not reach the broker: the first Read or Backlog
// subscribes. Open
// fails only on a spec it cannot use.
func Open(_ context.Context, spec *v1alpha1.PulsarSource, sub string) (*Source, error) {
	if sub == "" || len(spec.Topics) == 0 {
		return nil, errors.New("pulsar source: a subscription and topics are required")
	}
	conn := Conn{ServiceURL: spec.ServiceURL, Auth: spec.Auth, TLS: spec.TLS}
	opts, err := conn.ClientOptions()
	if err != nil {
		return nil, err
	}
	stats, err := newBacklogReader(conn, spec.AdminURL, spec.Topics, sub)
	if err != nil {
		return nil, err
	}
	opts.OperationTimeout = OperationTimeout
	cl, err := pulsar.NewClient(opts)
	if err != nil {
		return nil, fmt.Errorf("pulsar source %s: %w", sub, err)
	}
	s := &Source{
		spec:    *spec, // copied: the defaults set below stay here
		sub:     sub,
		cl:      cl,
		stats:   stats,
		log:     slog.Default().With("pulsarSubscription", sub),
		waiting: map[*time.Timer]struct{}{},
	}
	// The client rewrites the topics it is given to their full names.
	s.spec.Topics = slices.Clone(spec.Topics)
	if s.spec.EventType == "" {
		s.spec.EventType = v1alpha1.DefaultPulsarEventType
	}
	s.stopped, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// subscriptionTypes maps the spec's names to the client's.
var subscriptionTypes = map[string]pulsar.SubscriptionType{
	"":                       pulsar.Shared,
	v1alpha1.PulsarShared:    pulsar.Shared,
	v1alpha1.PulsarKeyShared: pulsar.KeyShared,
	v1alpha1.PulsarFailover:  pulsar.Failover,
}

// consumer subscribes, the first time.
func (s *Source) consumer() (pulsar.Consumer, error) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if s.cons != nil {
		return s.cons, nil
	}
	if s.stopped.Err() != nil {
		return nil, source.ErrClosed
	}
	typ, ok := subscriptionTypes[s.spec.SubscriptionType]
	if !ok {
		return nil, fmt.Errorf("pulsar source %s: unknown subscription type %q", s.sub, s.spec.SubscriptionType)
	}
	pos := pulsar.SubscriptionPositionEarliest
	if s.spec.InitialPosition == v1alpha1.KafkaLatest {
		pos = pulsar.SubscriptionPositionLatest
	}
	cons, err := s.cl.Subscribe(pulsar.ConsumerOptions{
		Topics:                      s.spec.Topics,
		SubscriptionName:            s.sub,
		Type:                        typ,
		SubscriptionInitialPosition: pos,
		NackRedeliveryDelay:         NackDelay,
		NackPrecisionBit:            &exactNacks,
		// The client's own channel holds 10: Read would take ~13 messages
		// at a time, and the pump write batches that small (benchmark 10:
		// +25-32% messages/s with this).
		MessageChannel:                 make(chan pulsar.ConsumerMessage, readAhead),
		EnableBatchIndexAcknowledgment: true,
	})
	if err != nil {
		return nil, fmt.Errorf("pulsar source %s: subscribing to %v: %w", s.sub, s.spec.Topics, err)
	}
	s.cons = cons
	return cons, nil
}

// Read returns up to max messages: it waits at most maxWait for the
// first, then takes those already received (rule 1).
func (s *Source) Read(ctx context.Context, max int, maxWait time.Duration) ([]source.Message, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if err := s.errIfClosed(); err != nil {
		return nil, err
	}
	cons, err := s.consumer()
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	var msgs []source.Message
	select {
	case cm := <-cons.Chan():
		msgs = append(msgs, s.message(cm.Message))
	case <-timer.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stopped.Done():
		return nil, source.ErrClosed
	}
	for len(msgs) < max {
		select {
		case cm := <-cons.Chan():
			msgs = append(msgs, s.message(cm.Message))
		default:
			return msgs, nil
		}
	}
	return msgs, nil
}

func (s *Source) message(m pulsar.Message) *message {
	return &message{e: Decode(m, s.spec.EventType, s.spec.EventSource), m: m, src: s}
}

// Backlog is the subscription's backlog over the topics (rule 7).
func (s *Source) Backlog(ctx context.Context) (int64, error) {
	if err := s.errIfClosed(); err != nil {
		return 0, err
	}
	// The subscription counts messages from when it is made: make it,
	// without waiting (subscribing to a broker that is down takes up to
	// OperationTimeout, and the scaler observes every function in turn).
	if s.subscribing.CompareAndSwap(false, true) {
		go func() {
			if _, err := s.consumer(); err != nil {
				s.subscribing.Store(false) // try again next time
			}
		}()
	}
	return s.stats.backlog(ctx)
}

// errIfClosed is source.ErrClosed once Close has begun, else nil. It
// holds mu only for the check, so a caller that then blocks on the client
// holds no lock.
func (s *Source) errIfClosed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return source.ErrClosed
	}
	return nil
}

// Close stops reading, drops the nacks still waiting for their delay (the
// broker sends those messages again as they are not acked), and closes
// the consumer, which first sends every ack made before it (rule 3).
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true // acks from now on return ErrClosed
	for t := range s.waiting {
		t.Stop()
	}
	s.waiting = nil
	s.mu.Unlock()

	s.stop()
	s.readMu.Lock() // wait for a Read in flight
	defer s.readMu.Unlock()
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if s.cons != nil {
		s.cons.Close()
	}
	s.cl.Close()
	return nil
}

// message is one message read, settled once by Ack or Nack.
type message struct {
	e   *cloudevent.Event
	m   pulsar.Message
	src *Source
}

func (m *message) Event() *cloudevent.Event { return m.e }

// Ack acknowledges the message; the client sends it within 100 ms, or at
// Close (rule 3).
//
// The client's Ack can block (its queue to a broker it is reconnecting to
// is full): Ack gives up when ctx ends — the message then comes again —
// and holds no lock meanwhile, so Read, Backlog and Close go on.
func (m *message) Ack(ctx context.Context) error {
	s := m.src
	if err := s.errIfClosed(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.cons.Ack(m.m) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("pulsar source %s: ack: %w", s.sub, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pulsar source %s: ack: %w", s.sub, ctx.Err())
	}
}

// Nack hands the message back to the broker to be delivered again, no
// sooner than delay (rule 5).
func (m *message) Nack(_ context.Context, delay time.Duration) error {
	s := m.src
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return source.ErrClosed
	}
	if delay <= NackDelay {
		s.cons.Nack(m.m)
		return nil
	}
	var t *time.Timer
	t = time.AfterFunc(delay-NackDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.waiting[t]; ok {
			delete(s.waiting, t)
			s.cons.Nack(m.m)
		}
	})
	s.waiting[t] = struct{}{}
	return nil
}
