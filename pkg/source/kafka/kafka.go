// Package kafka is the Kafka source: it reads topics as one consumer group
// with franz-go and keeps the delivery rules of package source.
//
//   - Offsets are committed only for acked records, and per partition only
//     up to the first record not yet acked (rules 2 and 4), by a loop every
//     CommitInterval and by Close, which commits every ack made before it
//     (rule 3).
//   - A nacked record is delivered again from memory after its delay (rule
//     5): the partition's commit point stays below it meanwhile, so if the
//     source closes or the partition moves first, Kafka delivers it again.
//   - On a rebalance, the revoked partitions' commit points are committed
//     and the partitions forgotten: acks of their records that come later
//     do not count, and the new owner reads them again (duplicates only).
//   - Records are read in the CloudEvents Kafka binding (see Decode), and
//     the backlog is the group's lag (rule 7).
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/source"
)

// CommitInterval is how often acked offsets are committed.
const CommitInterval = 500 * time.Millisecond

// FetchMaxWait is how long the broker holds a fetch that finds no new
// records (franz-go's default is 5s, Kafka's Java client's 500ms).
// Partitions assigned by a rebalance are fetched once the fetch in flight
// returns, so this also bounds how late they start.
const FetchMaxWait = time.Second

// commitTimeout bounds one offset commit.
const commitTimeout = 10 * time.Second

// groupClient is what the source uses of a franz-go group consumer.
type groupClient interface {
	PollRecords(ctx context.Context, max int) kgo.Fetches
	AllowRebalance()
	CommitOffsetsSync(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset,
		onDone func(*kgo.Client, *kmsg.OffsetCommitRequest, *kmsg.OffsetCommitResponse, error))
	Close()
}

// offsetLister is what Backlog uses of kadm.
type offsetLister interface {
	ListStartOffsets(ctx context.Context, topics ...string) (kadm.ListedOffsets, error)
	ListEndOffsets(ctx context.Context, topics ...string) (kadm.ListedOffsets, error)
	FetchOffsets(ctx context.Context, group string) (kadm.OffsetResponses, error)
}

type topicPartition struct {
	topic string
	id    int32
}

// Source is one Kafka source vertex: a member of its consumer group.
type Source struct {
	spec  v1alpha1.KafkaSource
	group string
	cl    groupClient
	adm   offsetLister
	log   *slog.Logger

	readMu sync.Mutex // one Read at a time; Close waits for it

	mu      sync.Mutex
	parts   map[topicPartition]*partition // assigned partitions
	retries []*message                    // nacked, by due time
	closed  bool

	commitMu      sync.Mutex // orders commits: the loop's, a revoke's, Close's
	lastCommitErr error      // the last commit's, nil if there was nothing to send

	stop     context.CancelFunc // ends polls and the commit loop
	stopped  context.Context
	loopDone chan struct{}
}

// Open joins group to read spec's topics (spec defaulted; an unset
// EventType is defaulted here too). The client connects and joins in the
// background: Open fails only on a spec it cannot use.
func Open(ctx context.Context, spec *v1alpha1.KafkaSource, group string) (*Source, error) {
	return open(ctx, spec, group)
}

// open is Open with extra franz-go options (tests shorten timeouts).
func open(_ context.Context, spec *v1alpha1.KafkaSource, group string, extra ...kgo.Opt) (*Source, error) {
	if group == "" || len(spec.Topics) == 0 {
		return nil, errors.New("kafka source: a consumer group and topics are required")
	}
	conn, err := ConnOpts(spec.Brokers, spec.TLS, spec.SASL)
	if err != nil {
		return nil, err
	}
	start := kgo.NewOffset().AtStart()
	if spec.InitialOffset == v1alpha1.KafkaLatest {
		start = kgo.NewOffset().AtEnd()
	}
	s := &Source{
		spec:     *spec, // copied: the defaults set below stay here
		group:    group,
		log:      slog.Default().With("kafkaGroup", group),
		parts:    map[topicPartition]*partition{},
		loopDone: make(chan struct{}),
	}
	opts := append(conn,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(spec.Topics...),
		kgo.ConsumeResetOffset(start),
		kgo.FetchMaxWait(FetchMaxWait),
		kgo.DisableAutoCommit(),
		// Between a poll and AllowRebalance (the end of Read), no
		// partition is revoked: every record polled is tracked before
		// its partition can be revoked, and no record of a revoked
		// partition is polled after its revoke.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
	)
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka source %s: %w", group, err)
	}
	if s.spec.EventType == "" {
		s.spec.EventType = v1alpha1.DefaultKafkaEventType
	}
	s.cl, s.adm = cl, kadm.NewClient(cl)
	s.stopped, s.stop = context.WithCancel(context.Background())
	go s.commitLoop()
	return s, nil
}

// Read returns the nacked records now due, or else polls up to max records
// of all assigned partitions, waiting at most maxWait (rule 1).
func (s *Source) Read(ctx context.Context, max int, maxWait time.Duration) ([]source.Message, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	now := time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, source.ErrClosed
	}
	due, next := s.dueRetries(now, max)
	s.mu.Unlock()
	if len(due) > 0 {
		return due, nil
	}
	until := now.Add(maxWait)
	if !next.IsZero() && next.Before(until) {
		until = next
	}
	pctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	stop := context.AfterFunc(s.stopped, cancel)
	defer stop()

	fetches := s.cl.PollRecords(pctx, max)
	msgs := s.track(fetches)
	s.cl.AllowRebalance()
	if len(msgs) > 0 {
		return msgs, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ferr error
	fetches.EachError(func(topic string, p int32, err error) {
		switch {
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		case errors.Is(err, kgo.ErrClientClosed):
			ferr = source.ErrClosed
		case ferr == nil && topic == "": // a group error
			ferr = fmt.Errorf("kafka source %s: %w", s.group, err)
		case ferr == nil:
			ferr = fmt.Errorf("kafka source %s: fetching %s/%d: %w", s.group, topic, p, err)
		}
	})
	if s.stopped.Err() != nil {
		return nil, source.ErrClosed
	}
	return nil, ferr
}

// track turns polled records into messages, recording them in their
// partitions. A record of a partition this member does not own is not
// delivered: it is not committed either, so its owner reads it.
func (s *Source) track(fetches kgo.Fetches) []source.Message {
	var msgs []source.Message
	s.mu.Lock()
	defer s.mu.Unlock()
	fetches.EachRecord(func(r *kgo.Record) {
		p := s.parts[topicPartition{r.Topic, r.Partition}]
		if p == nil || !p.read(r.Offset, r.LeaderEpoch) {
			return
		}
		e := Decode(r, s.spec.EventType, s.spec.EventSource)
		msgs = append(msgs, &message{e: e, src: s, part: p, offset: r.Offset})
	})
	return msgs
}

// Close stops reading, commits every ack made before it (rule 3), then
// leaves the group (its partitions go to the other members at once).
// Records read and not acked are read again by the group (rule 2). If the
// commit fails, leaving (which revokes every partition) tries it again;
// the error is the last attempt's.
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true // acks from now on return ErrClosed
	s.retries = nil
	s.mu.Unlock()

	s.stop()
	s.readMu.Lock() // wait for a Read in flight
	defer s.readMu.Unlock()
	<-s.loopDone
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if err := s.commit(ctx, nil); err != nil {
		s.log.Warn("committing offsets on close; trying again as the group is left", "error", err)
	}
	s.cl.Close() // leaving revokes: s.revoked commits again what did not pass
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.lastCommitErr
}
