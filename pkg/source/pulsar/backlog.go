package pulsar

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

// backlogReader reads a subscription's backlog from the broker's topic
// stats (the admin REST API).
type backlogReader struct {
	topics []*utils.TopicName
	sub    string
	admin  admin.Topics
}

func newBacklogReader(conn Conn, adminURL string, topics []string, sub string) (*backlogReader, error) {
	cfg, err := conn.AdminConfig(adminURL)
	if err != nil {
		return nil, err
	}
	cl, err := pulsaradmin.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("pulsar admin %s: %w", cfg.WebServiceURL, err)
	}
	r := &backlogReader{sub: sub, admin: cl.Topics()}
	for _, t := range topics {
		name, err := utils.GetTopicName(t)
		if err != nil {
			return nil, fmt.Errorf("pulsar source: topic %q: %w", t, err)
		}
		r.topics = append(r.topics, name)
	}
	return r, nil
}

// backlog sums the subscription's msgBacklog over the topics: the
// messages not yet acked, read or not. Pulsar counts entries: a batch a
// producer sent counts once. A topic the broker does not know yet counts 0.
func (r *backlogReader) backlog(ctx context.Context) (int64, error) {
	var total int64
	for _, t := range r.topics {
		n, err := r.topicBacklog(ctx, t)
		if err != nil {
			return 0, fmt.Errorf("pulsar source %s: backlog of %s: %w", r.sub, t, err)
		}
		total += n
	}
	return total, nil
}

// statsOptions leave out what the backlog does not need. (The precise
// backlog would not help: it still counts a batch as one entry.)
var statsOptions = utils.GetStatsOptions{ExcludePublishers: true, ExcludeConsumers: true}

func (r *backlogReader) topicBacklog(ctx context.Context, t *utils.TopicName) (int64, error) {
	meta, err := r.admin.GetMetadataWithContext(ctx, *t)
	if err != nil {
		return 0, notFoundIsZero(err)
	}
	var subs map[string]utils.SubscriptionStats
	if meta.Partitions > 0 {
		stats, err := r.admin.GetPartitionedStatsWithOptionWithContext(ctx, *t, false, statsOptions)
		if err != nil {
			return 0, notFoundIsZero(err)
		}
		subs = stats.Subscriptions
	} else {
		stats, err := r.admin.GetStatsWithOptionWithContext(ctx, *t, statsOptions)
		if err != nil {
			return 0, notFoundIsZero(err)
		}
		subs = stats.Subscriptions
	}
	return subs[r.sub].MsgBacklog, nil
}

// notFoundIsZero drops a 404 (no such topic yet).
func notFoundIsZero(err error) error {
	var re rest.Error
	if errors.As(err, &re) && re.Code == http.StatusNotFound {
		return nil
	}
	return err
}
