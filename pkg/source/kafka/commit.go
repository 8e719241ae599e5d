package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// commitLoop commits the acked offsets every CommitInterval until Close:
// acks are sent in batches (rule 3).
func (s *Source) commitLoop() {
	defer close(s.loopDone)
	t := time.NewTicker(CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopped.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.stopped, commitTimeout)
		if err := s.commit(ctx, nil); err != nil && s.stopped.Err() == nil {
			s.log.Warn("committing offsets; retrying at the next interval", "error", err)
		}
		cancel()
	}
}

// commit commits every partition's commit point that moved since its last
// commit. It first forgets the partitions in revoked, so that later acks
// of their records do not count, but still commits how far they got.
// Commits are serialized, so none of a forgotten partition is sent after
// the revoke's.
func (s *Source) commit(ctx context.Context, revoked map[string][]int32) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.lastCommitErr = s.commitLocked(ctx, revoked)
	return s.lastCommitErr
}

// commitLocked is commit; callers hold s.commitMu.
func (s *Source) commitLocked(ctx context.Context, revoked map[string][]int32) error {
	offsets := map[string]map[int32]kgo.EpochOffset{}
	sent := map[topicPartition]*partition{}
	s.mu.Lock()
	for tp, p := range s.parts {
		pos, ok := p.toCommit()
		if !ok {
			continue
		}
		if offsets[tp.topic] == nil {
			offsets[tp.topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[tp.topic][tp.id] = kgo.EpochOffset{Epoch: pos.epoch, Offset: pos.offset}
		sent[tp] = p
	}
	s.forget(revoked)
	s.mu.Unlock()
	if len(offsets) == 0 {
		return nil
	}
	var err error
	s.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, cerr error) {
		if cerr != nil {
			err = cerr
			return
		}
		names := map[[16]byte]string{} // OffsetCommit v10+ names topics by id
		for _, t := range req.Topics {
			names[t.TopicID] = t.Topic
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, t := range resp.Topics {
			topic := t.Topic
			if topic == "" {
				topic = names[t.TopicID]
			}
			for _, rp := range t.Partitions {
				if perr := kerr.ErrorForCode(rp.ErrorCode); perr != nil {
					err = errors.Join(err, fmt.Errorf("%s/%d: %w", topic, rp.Partition, perr))
					continue
				}
				if p := sent[topicPartition{topic, rp.Partition}]; p != nil {
					p.committed(offsets[topic][rp.Partition].Offset)
				}
			}
		}
	})
	if err != nil {
		return fmt.Errorf("kafka source %s: commit: %w", s.group, err)
	}
	return nil
}

// forget stops tracking the partitions in tps: acks of their records no
// longer count, and their nacked records are not delivered again here.
// Callers hold s.mu.
func (s *Source) forget(tps map[string][]int32) {
	for topic, ids := range tps {
		for _, id := range ids {
			tp := topicPartition{topic, id}
			if p := s.parts[tp]; p != nil {
				p.gone = true
				delete(s.parts, tp)
			}
		}
	}
}

// assigned starts tracking newly assigned partitions; franz-go calls it
// before fetching them from their committed offsets. A partition tracked
// already (its topic was recreated) starts over: its records are fetched
// again from the committed offset.
func (s *Source) assigned(_ context.Context, _ *kgo.Client, tps map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget(tps)
	for topic, ids := range tps {
		for _, id := range ids {
			s.parts[topicPartition{topic, id}] = newPartition(topic, id)
		}
	}
}

// revoked commits how far the revoked partitions got and forgets them,
// before the group gives them to another member. A failed commit means
// duplicates, not loss: the new owner reads from the last commit.
func (s *Source) revoked(ctx context.Context, _ *kgo.Client, tps map[string][]int32) {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	if err := s.commit(ctx, tps); err != nil {
		s.log.Warn("committing revoked partitions; their new owner reads some records again", "error", err)
	}
}

// lost forgets partitions taken away without a chance to commit (the
// session expired): their records not committed are read again.
func (s *Source) lost(_ context.Context, _ *kgo.Client, tps map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget(tps)
}
