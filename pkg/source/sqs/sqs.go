// Package sqs is the Amazon SQS source: it receives messages from one
// queue with long polling and deletes each only once it is acked, that is
// durably buffered (rule 2 of package source). While a message is read and
// not yet settled, its visibility timeout is extended in the background, so
// no other receiver gets it meanwhile; at Close every such message is made
// visible again at once.
//
// The binding (Decode) is the one package sink/sqs writes: CloudEvents
// attributes in "ce_" message attributes and datacontenttype in
// "content-type", the data as the body (binary style); or the whole event
// as the body with content-type application/cloudevents+json (structured).
// Any other message is wrapped in an event of the spec's type and source.
package sqs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
)

// maxBatch is SQS's limit on the messages of one ReceiveMessage and the
// entries of one batch request.
const maxBatch = 10

// sqsAPI is the part of the SQS client the source uses.
type sqsAPI interface {
	ReceiveMessage(context.Context, *awssqs.ReceiveMessageInput, ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *awssqs.DeleteMessageBatchInput, ...func(*awssqs.Options)) (*awssqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(context.Context, *awssqs.ChangeMessageVisibilityInput, ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityOutput, error)
	ChangeMessageVisibilityBatch(context.Context, *awssqs.ChangeMessageVisibilityBatchInput, ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityBatchOutput, error)
	GetQueueAttributes(context.Context, *awssqs.GetQueueAttributesInput, ...func(*awssqs.Options)) (*awssqs.GetQueueAttributesOutput, error)
}

// NewClient returns an SQS client for region (default from the environment:
// AWS_REGION or the shared config) and endpoint ("" for AWS's). Credentials
// come from the SDK's default chain: environment, shared files, web
// identity (EKS IRSA), container and EC2 instance roles. optFns apply last
// (tests set static credentials and an HTTP client there). Package
// sink/sqs builds its client here too.
func NewClient(ctx context.Context, region, endpoint string, optFns ...func(*awssqs.Options)) (*awssqs.Client, error) {
	var loadOpts []func(*config.LoadOptions) error
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("sqs: loading the AWS configuration: %w", err)
	}
	var resolved string
	fns := append([]func(*awssqs.Options){func(o *awssqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, optFns...)
	fns = append(fns, func(o *awssqs.Options) { resolved = o.Region })
	client := awssqs.NewFromConfig(cfg, fns...)
	if resolved == "" {
		return nil, errors.New("sqs: no region: set the spec's region or AWS_REGION")
	}
	return client, nil
}

// Source is one SQS source vertex's connection to its queue.
type Source struct {
	api      sqsAPI
	queueURL string
	spec     v1alpha1.SQSSource // defaulted
	vt       time.Duration      // the visibility timeout received messages get
	log      *slog.Logger

	ctx    context.Context // ends at Close: stops the poll and the loops
	cancel context.CancelFunc
	bg     sync.WaitGroup // the flusher and the extender
	flush  chan struct{}  // a token when a batch of deletes is ready

	// Read's own state: Read is called from one goroutine at a time.
	polling <-chan polled // the long poll under way, nil if none
	ready   []*message    // received and not yet returned by Read

	mu       sync.Mutex
	closed   bool
	inflight map[*message]struct{} // received, not settled: extended, released at Close
	deletes  []pendingDelete       // acked, not yet deleted
}

// Open connects to spec's queue and starts the loops that delete acked
// messages and extend the visibility of unsettled ones. optFns adjust the
// SQS client (see NewClient).
func Open(ctx context.Context, spec *v1alpha1.SQSSource, optFns ...func(*awssqs.Options)) (*Source, error) {
	if spec == nil || spec.QueueURL == "" {
		return nil, errors.New("sqs: no queue URL")
	}
	client, err := NewClient(ctx, spec.Region, spec.Endpoint, optFns...)
	if err != nil {
		return nil, err
	}
	return open(spec, client)
}

// open starts a Source on api (a fake one in unit tests).
func open(spec *v1alpha1.SQSSource, api sqsAPI) (*Source, error) {
	s := &Source{
		api:      api,
		queueURL: spec.QueueURL,
		spec:     *withDefaults(spec),
		log:      slog.Default().With("queue", spec.QueueURL),
		flush:    make(chan struct{}, 1),
		inflight: map[*message]struct{}{},
	}
	s.vt = s.spec.VisibilityTimeout.Duration.Truncate(time.Second) // SQS counts whole seconds
	if s.vt < time.Second || s.vt > maxVisibility {
		return nil, fmt.Errorf("sqs: visibility timeout %v is not between 1s and 12h", s.vt)
	}
	// Wrapped messages must be valid events (rule 6): check type and source.
	probe := &cloudevent.Event{SpecVersion: cloudevent.SpecVersion, ID: "probe", Source: s.spec.EventSource, Type: s.spec.EventType}
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("sqs: the event type and source of wrapped messages: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.bg.Go(s.flushLoop)
	s.bg.Go(s.extendLoop)
	return s, nil
}

// withDefaults returns a copy of spec with its defaults filled in.
func withDefaults(spec *v1alpha1.SQSSource) *v1alpha1.SQSSource {
	src := &v1alpha1.Source{SQS: spec.DeepCopy()}
	src.SetDefaults()
	return src.SQS
}

// Backlog is the queue's approximate count of messages visible, in flight
// and delayed (rule 7): SQS's counts lag by seconds or more.
func (s *Source) Backlog(ctx context.Context) (int64, error) {
	if s.isClosed() {
		return 0, source.ErrClosed
	}
	names := []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}
	out, err := s.api.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: &s.queueURL, AttributeNames: names})
	if err != nil {
		return 0, fmt.Errorf("sqs: backlog of %s: %w", s.queueURL, err)
	}
	var n int64
	for _, name := range names {
		v, err := strconv.ParseInt(out.Attributes[string(name)], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("sqs: backlog of %s: attribute %s = %q", s.queueURL, name, out.Attributes[string(name)])
		}
		n += v
	}
	return n, nil
}

// closeTimeout bounds the deletes and releases Close sends.
const closeTimeout = 30 * time.Second

// Close stops reading and extending, deletes every message acked before it
// (rule 3) and makes every message read and not settled visible again at
// once (rule 2). It returns an error when acked messages could not be
// deleted: they will be delivered again.
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel() // ends the long poll, the flusher and the extender
	s.bg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := s.flushAll(ctx)

	s.mu.Lock()
	unsettled := make([]*message, 0, len(s.inflight))
	for m := range s.inflight {
		unsettled = append(unsettled, m)
	}
	s.inflight = map[*message]struct{}{}
	s.mu.Unlock()
	s.release(ctx, unsettled)
	return err
}

func (s *Source) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
