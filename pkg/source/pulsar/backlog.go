package pulsar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/auth"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
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
	cl, err := adminClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("pulsar admin %s: %w", cfg.WebServiceURL, err)
	}
	r := &backlogReader{sub: sub, admin: cl.Topics()}
	for _, t := range topics {
		name, err := utils.GetTopicName(t)
		if err != nil {
			return nil, fmt.Errorf("pulsar source: topic %q: %w", t, err)
		}
		if !slices.ContainsFunc(r.topics, func(n *utils.TopicName) bool { return n.String() == name.String() }) {
			r.topics = append(r.topics, name) // the client reads a topic named twice once
		}
	}
	return r, nil
}

// adminClient is pulsaradmin's client for cfg, except that a token file
// is read on every request (pulsaradmin reads it once), so a rotated token
// is used as the broker client uses it.
func adminClient(cfg *config.Config) (admin.Client, error) {
	if cfg.TokenFile == "" {
		return pulsaradmin.NewClient(cfg)
	}
	tr, err := auth.NewDefaultTransport(cfg)
	if err != nil {
		return nil, err
	}
	return admin.NewWithAuthProvider(cfg, &fileToken{path: cfg.TokenFile, next: tr}), nil
}

// fileToken authenticates each request with the token in a file.
type fileToken struct {
	path string
	next http.RoundTripper
}

func (f *fileToken) RoundTrip(req *http.Request) (*http.Response, error) {
	token, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("pulsar auth: token file: %w", err)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	return f.next.RoundTrip(req)
}

func (f *fileToken) Transport() http.RoundTripper { return f.next }

func (f *fileToken) WithTransport(t http.RoundTripper) { f.next = t }

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
