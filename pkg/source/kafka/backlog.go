package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/source"
)

// Backlog is the group's lag over the topics: per partition, the end
// offset less the committed one (rule 7). Records read and not acked are
// not committed, so they count. A partition the group never committed to
// counts from its start (initialOffset earliest) or not at all (latest).
func (s *Source) Backlog(ctx context.Context) (int64, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return 0, source.ErrClosed
	}
	ends, err := s.adm.ListEndOffsets(ctx, s.spec.Topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("kafka source %s: end offsets: %w", s.group, err)
	}
	starts, err := s.adm.ListStartOffsets(ctx, s.spec.Topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("kafka source %s: start offsets: %w", s.group, err)
	}
	commits, err := s.adm.FetchOffsets(ctx, s.group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return 0, fmt.Errorf("kafka source %s: committed offsets: %w", s.group, err)
	}
	return lag(ends, starts, commits, s.spec.InitialOffset == v1alpha1.KafkaLatest), nil
}

// lag sums, over the partitions of ends, what lies between the committed
// offset (or where a group without one starts) and the end.
func lag(ends, starts kadm.ListedOffsets, commits kadm.OffsetResponses, latest bool) int64 {
	var total int64
	ends.Each(func(end kadm.ListedOffset) {
		from := end.Offset
		if c, ok := commits.Lookup(end.Topic, end.Partition); ok && c.Err == nil && c.At >= 0 {
			from = c.At
		} else if st, ok := starts.Lookup(end.Topic, end.Partition); ok && !latest {
			from = st.Offset
		}
		total += max(0, end.Offset-from)
	})
	return total
}
