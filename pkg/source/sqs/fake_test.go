package sqs

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// fakeSQS answers from per-call functions; nil ones succeed with nothing.
type fakeSQS struct {
	mu       sync.Mutex
	receive  func(*awssqs.ReceiveMessageInput) (*awssqs.ReceiveMessageOutput, error)
	del      func(*awssqs.DeleteMessageBatchInput) (*awssqs.DeleteMessageBatchOutput, error)
	deleted  []string // receipt handles deleted
	released []string // receipt handles whose visibility was set to 0
}

func (f *fakeSQS) ReceiveMessage(ctx context.Context, in *awssqs.ReceiveMessageInput, _ ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error) {
	if f.receive == nil {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.receive(in)
}

func (f *fakeSQS) DeleteMessageBatch(_ context.Context, in *awssqs.DeleteMessageBatchInput, _ ...func(*awssqs.Options)) (*awssqs.DeleteMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.del != nil {
		return f.del(in)
	}
	for _, e := range in.Entries {
		f.deleted = append(f.deleted, aws.ToString(e.ReceiptHandle))
	}
	return &awssqs.DeleteMessageBatchOutput{}, nil
}

func (f *fakeSQS) ChangeMessageVisibility(context.Context, *awssqs.ChangeMessageVisibilityInput, ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityOutput, error) {
	return &awssqs.ChangeMessageVisibilityOutput{}, nil
}

func (f *fakeSQS) ChangeMessageVisibilityBatch(_ context.Context, in *awssqs.ChangeMessageVisibilityBatchInput, _ ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range in.Entries {
		if e.VisibilityTimeout == 0 {
			f.released = append(f.released, aws.ToString(e.ReceiptHandle))
		}
	}
	return &awssqs.ChangeMessageVisibilityBatchOutput{}, nil
}

func (f *fakeSQS) GetQueueAttributes(context.Context, *awssqs.GetQueueAttributesInput, ...func(*awssqs.Options)) (*awssqs.GetQueueAttributesOutput, error) {
	return &awssqs.GetQueueAttributesOutput{}, nil
}

// messages returns n SQS messages m<from>..., with receipt handles r<i>.
func messages(from, n int) []types.Message {
	out := make([]types.Message, n)
	for i := range out {
		k := from + i
		out[i] = types.Message{MessageId: aws.String(fmt.Sprint("m", k)), ReceiptHandle: aws.String(fmt.Sprint("r", k)), Body: aws.String("b")}
	}
	return out
}

func openFake(t *testing.T, f *fakeSQS) *Source {
	t.Helper()
	spec := &v1alpha1.SQSSource{QueueURL: "https://sqs.example/1/q", VisibilityTimeout: &metav1.Duration{Duration: 30 * time.Second}}
	s, err := open(spec, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
