package sqs_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/freshetproj/freshet/test/brokers/sqs"
)

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestEmulators runs the same conversations through aws-sdk-go-v2 against
// each emulator (both started once, in parallel):
//
//   - roundtrip: create a queue, send a batch with message attributes,
//     long-poll it back, change one message's visibility, delete the batch,
//     and see the queue drain. The SDK checks MD5OfMessageBody and
//     MD5OfMessageAttributes on send and receive, so both emulators'
//     checksums are verified too.
//   - longpoll: a waiting ReceiveMessage returns as soon as a message is sent.
//   - errors: what both do alike, and pins where they differ (see the
//     package documentation), so an upgrade that changes it is noticed.
func TestEmulators(t *testing.T) {
	for _, emu := range sqs.All(t) {
		t.Run(emu.Name, func(t *testing.T) {
			t.Parallel()
			t.Logf("%s at %s started in %s", emu.Name, emu.Endpoint, emu.StartupTime.Round(time.Millisecond))
			t.Run("roundtrip", func(t *testing.T) { roundTrip(t, emu) })
			t.Run("longpoll", func(t *testing.T) { longPoll(t, emu) })
			t.Run("errors", func(t *testing.T) { errorsAndLimits(t, emu) })
		})
	}
}

const batchSize = 10 // SQS's limit for SendMessageBatch, ReceiveMessage and DeleteMessageBatch

func roundTrip(t *testing.T, emu *sqs.Emulator) {
	ctx := ctx(t)
	client := emu.Client(t)

	created, err := client.CreateQueue(ctx, &awssqs.CreateQueueInput{
		QueueName: aws.String("freshet-roundtrip"),
		Attributes: map[string]string{
			string(types.QueueAttributeNameVisibilityTimeout): "30",
		},
	})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	queueURL := aws.ToString(created.QueueUrl)
	t.Logf("queue URL %s", queueURL)
	got, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("freshet-roundtrip")})
	if err != nil {
		t.Fatalf("GetQueueUrl: %v", err)
	}
	if aws.ToString(got.QueueUrl) != queueURL {
		t.Errorf("GetQueueUrl = %s, CreateQueue said %s", aws.ToString(got.QueueUrl), queueURL)
	}

	// Long polling on an empty queue waits about WaitTimeSeconds, then
	// answers with no messages.
	began := time.Now()
	empty, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(queueURL), WaitTimeSeconds: 1, MaxNumberOfMessages: batchSize,
	})
	if err != nil {
		t.Fatalf("ReceiveMessage on the empty queue: %v", err)
	}
	if waited := time.Since(began); len(empty.Messages) != 0 || waited < 900*time.Millisecond || waited > 5*time.Second {
		t.Errorf("ReceiveMessage(WaitTimeSeconds=1) on the empty queue: %d messages after %s, want none after about 1s", len(empty.Messages), waited)
	}

	// SendMessageBatch: more than 10 entries is refused, by both.
	tooMany := make([]types.SendMessageBatchRequestEntry, batchSize+1)
	for i := range tooMany {
		tooMany[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("x", i)), MessageBody: aws.String("x")}
	}
	_, err = client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: tooMany})
	if tooManyErr := (*types.TooManyEntriesInBatchRequest)(nil); !errors.As(err, &tooManyErr) {
		t.Errorf("SendMessageBatch with %d entries: got %v, want TooManyEntriesInBatchRequest", len(tooMany), err)
	}

	entries := make([]types.SendMessageBatchRequestEntry, batchSize)
	for i := range entries {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:          aws.String(fmt.Sprint("m", i)),
			MessageBody: aws.String(fmt.Sprint("message-", i)),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"index": {DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(i))},
				"kind":  {DataType: aws.String("String"), StringValue: aws.String("freshet.test")},
				"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 0xfe, byte(i)}},
				// A custom type suffix, which SQS allows ("Number.int", "String.json", ...).
				"ce-type": {DataType: aws.String("String.cloudevents"), StringValue: aws.String("dev.freshet.test")},
			},
		}
	}
	sent, err := client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(sent.Successful) != batchSize || len(sent.Failed) != 0 {
		t.Fatalf("SendMessageBatch: %d successful, %d failed (%+v), want %d and 0", len(sent.Successful), len(sent.Failed), sent.Failed, batchSize)
	}
	for _, s := range sent.Successful {
		if aws.ToString(s.MD5OfMessageAttributes) == "" {
			t.Errorf("SendMessageBatch entry %s: no MD5OfMessageAttributes", aws.ToString(s.Id))
		}
	}

	// Long-poll until all ten are in: one ReceiveMessage may return fewer
	// than MaxNumberOfMessages.
	byBody := map[string]types.Message{}
	deadline := time.Now().Add(20 * time.Second)
	for len(byBody) < batchSize && time.Now().Before(deadline) {
		out, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(queueURL),
			MaxNumberOfMessages:         batchSize,
			WaitTimeSeconds:             1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		t.Logf("ReceiveMessage returned %d messages", len(out.Messages))
		for _, m := range out.Messages {
			body := aws.ToString(m.Body)
			if _, dup := byBody[body]; dup {
				t.Errorf("message %q received twice within its visibility timeout", body)
			}
			byBody[body] = m
		}
	}
	if len(byBody) != batchSize {
		t.Fatalf("received %d distinct messages, want %d: %v", len(byBody), batchSize, slices.Sorted(maps.Keys(byBody)))
	}
	for i := range batchSize {
		body := fmt.Sprint("message-", i)
		m, ok := byBody[body]
		if !ok {
			t.Errorf("message %q not received", body)
			continue
		}
		checkAttr(t, body, m, "index", "Number", strconv.Itoa(i), nil)
		checkAttr(t, body, m, "kind", "String", "freshet.test", nil)
		checkAttr(t, body, m, "blob", "Binary", "", []byte{0, 1, 0xfe, byte(i)})
		checkAttr(t, body, m, "ce-type", "String.cloudevents", "dev.freshet.test", nil)
		if n := len(m.MessageAttributes); n != 4 {
			t.Errorf("%s: %d message attributes, want 4", body, n)
		}
		if rc := m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]; rc != "1" {
			t.Errorf("%s: ApproximateReceiveCount = %q, want 1", body, rc)
		}
		if ts := m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)]; ts == "" {
			t.Errorf("%s: no SentTimestamp attribute (have %v)", body, m.Attributes)
		}
		if aws.ToString(m.ReceiptHandle) == "" || aws.ToString(m.MessageId) == "" {
			t.Errorf("%s: empty ReceiptHandle or MessageId", body)
		}
	}
	waitCounts(t, client, queueURL, 0, batchSize)

	// ChangeMessageVisibility to 0 puts one message back at once: it is
	// received again, with a second receive count and a new receipt handle.
	again := byBody["message-3"]
	if _, err := client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(queueURL), ReceiptHandle: again.ReceiptHandle, VisibilityTimeout: 0,
	}); err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	out, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queueURL),
		MaxNumberOfMessages:         batchSize,
		WaitTimeSeconds:             1,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage after ChangeMessageVisibility: %v", err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "message-3" {
		t.Fatalf("ReceiveMessage after ChangeMessageVisibility(0) of message-3: got %d messages %v, want message-3 alone", len(out.Messages), bodies(out.Messages))
	}
	if rc := out.Messages[0].Attributes["ApproximateReceiveCount"]; rc != "2" {
		t.Errorf("message-3 received again: ApproximateReceiveCount = %q, want 2", rc)
	}
	checkAttr(t, "message-3 (again)", out.Messages[0], "index", "Number", "3", nil)
	byBody["message-3"] = out.Messages[0] // the old receipt handle is stale now

	del := make([]types.DeleteMessageBatchRequestEntry, 0, batchSize)
	for i := range batchSize {
		del = append(del, types.DeleteMessageBatchRequestEntry{
			Id: aws.String(fmt.Sprint("d", i)), ReceiptHandle: byBody[fmt.Sprint("message-", i)].ReceiptHandle,
		})
	}
	deleted, err := client.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: del})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	if len(deleted.Successful) != batchSize || len(deleted.Failed) != 0 {
		t.Fatalf("DeleteMessageBatch: %d successful, %d failed (%+v), want %d and 0", len(deleted.Successful), len(deleted.Failed), deleted.Failed, batchSize)
	}
	waitCounts(t, client, queueURL, 0, 0)

	// Nothing comes back once deleted, even after the visibility timeout.
	out, err = client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), WaitTimeSeconds: 1, MaxNumberOfMessages: batchSize})
	if err != nil {
		t.Fatalf("final ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 0 {
		t.Errorf("final ReceiveMessage: got %v, want nothing", bodies(out.Messages))
	}

	if _, err := client.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: aws.String(queueURL)}); err != nil {
		t.Errorf("DeleteQueue: %v", err)
	}
}

// longPoll checks that a ReceiveMessage waiting on an empty queue returns
// as soon as a message is sent, not at the end of WaitTimeSeconds.
func longPoll(t *testing.T, emu *sqs.Emulator) {
	ctx := ctx(t)
	client := emu.Client(t)
	queueURL := createQueue(t, client, "freshet-longpoll")

	sendErr := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String("wake up")})
		sendErr <- err
	}()
	began := time.Now()
	out, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(queueURL), WaitTimeSeconds: 10, MaxNumberOfMessages: batchSize,
	})
	waited := time.Since(began)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "wake up" {
		t.Fatalf("ReceiveMessage(WaitTimeSeconds=10): got %v, want the message sent while it waited", bodies(out.Messages))
	}
	t.Logf("long poll returned %s after it began (the message was sent at 300ms)", waited.Round(time.Millisecond))
	if waited > 5*time.Second {
		t.Errorf("ReceiveMessage(WaitTimeSeconds=10) returned %s after it began, want soon after the send at 300ms", waited)
	}
}

// errorsAndLimits checks the errors both emulators give alike, and pins the
// differences between them.
func errorsAndLimits(t *testing.T, emu *sqs.Emulator) {
	ctx := ctx(t)
	client := emu.Client(t)
	queueURL := createQueue(t, client, "freshet-errors")

	// Alike: the SDK maps both emulators' errors to its typed errors, so
	// code under test should use errors.As, not compare ErrorCode strings.
	_, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("no-such-queue")})
	var notExist *types.QueueDoesNotExist
	if !errors.As(err, &notExist) {
		t.Errorf("GetQueueUrl of a missing queue: got %v, want QueueDoesNotExist", err)
	}
	// Difference: ErrorCode. fauxqs sends AWS's query-compatible code, as
	// real SQS does ("AWS.SimpleQueueService.NonExistentQueue" in the
	// x-amzn-query-error header); ElasticMQ puts the JSON __type in that
	// header, so ErrorCode is "com.amazonaws.sqs#QueueDoesNotExist".
	wantCode := map[string]string{
		sqs.Fauxqs:    "AWS.SimpleQueueService.NonExistentQueue",
		sqs.ElasticMQ: "com.amazonaws.sqs#QueueDoesNotExist",
	}[emu.Name]
	if code := errorCode(err); code != wantCode {
		t.Errorf("GetQueueUrl of a missing queue: ErrorCode %q, want %q", code, wantCode)
	}

	// Alike: AWS's limits. At most 10 messages per receive, a wait of at
	// most 20 s, bodies of at most 1 MiB (AWS's limit since 2025).
	for _, in := range []*awssqs.ReceiveMessageInput{
		{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: batchSize + 1},
		{QueueUrl: aws.String(queueURL), WaitTimeSeconds: 21},
	} {
		if _, err := client.ReceiveMessage(ctx, in); errorCode(err) == "" {
			t.Errorf("ReceiveMessage(MaxNumberOfMessages=%d, WaitTimeSeconds=%d): got %v, want an error", in.MaxNumberOfMessages, in.WaitTimeSeconds, err)
		}
	}
	for size, wantErr := range map[int]bool{1 << 20: false, 1<<20 + 1: true} {
		_, err := client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(strings.Repeat("a", size))})
		if (err != nil) != wantErr {
			t.Errorf("SendMessage of %d bytes: got %v, want error: %v", size, err, wantErr)
		}
	}
	_, err = client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("same"), MessageBody: aws.String("a")},
		{Id: aws.String("same"), MessageBody: aws.String("b")},
	}})
	var notDistinct *types.BatchEntryIdsNotDistinct
	if !errors.As(err, &notDistinct) {
		t.Errorf("SendMessageBatch with duplicate Ids: got %v, want BatchEntryIdsNotDistinct", err)
	}

	// Difference: a queue URL built by hand. ElasticMQ takes the queue name
	// from the URL's path, whatever its host; fauxqs only knows the exact
	// URL string it returned. Use CreateQueue's or GetQueueUrl's URL.
	handBuilt := "http://localhost:4566/" + sqs.AccountID + "/freshet-errors"
	_, err = client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(handBuilt), MessageBody: aws.String("x")})
	if wantErr := emu.Name == sqs.Fauxqs; (err != nil) != wantErr {
		t.Errorf("SendMessage to the hand-built URL %s: got %v, want error: %v", handBuilt, err, wantErr)
	}

	// Difference: a receipt handle that was never issued. ElasticMQ answers
	// ReceiptHandleIsInvalid, as AWS does; fauxqs accepts it silently.
	_, err = client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: aws.String("bogus")})
	var invalid *types.ReceiptHandleIsInvalid
	if wantErr := emu.Name == sqs.ElasticMQ; errors.As(err, &invalid) != wantErr {
		t.Errorf("DeleteMessage with a bogus receipt handle: got %v, want ReceiptHandleIsInvalid: %v", err, wantErr)
	}
}

func createQueue(t *testing.T, client *awssqs.Client, name string) string {
	t.Helper()
	out, err := client.CreateQueue(t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// waitCounts polls GetQueueAttributes until ApproximateNumberOfMessages and
// ApproximateNumberOfMessagesNotVisible read visible and notVisible
// (SQS calls them approximate: they may lag).
func waitCounts(t *testing.T, client *awssqs.Client, queueURL string, visible, notVisible int) {
	t.Helper()
	want := map[string]string{
		string(types.QueueAttributeNameApproximateNumberOfMessages):           strconv.Itoa(visible),
		string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible): strconv.Itoa(notVisible),
		string(types.QueueAttributeNameApproximateNumberOfMessagesDelayed):    "0",
	}
	var last map[string]string
	deadline := time.Now().Add(10 * time.Second)
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		out, err := client.GetQueueAttributes(t.Context(), &awssqs.GetQueueAttributesInput{
			QueueUrl: aws.String(queueURL),
			AttributeNames: []types.QueueAttributeName{
				types.QueueAttributeNameApproximateNumberOfMessages,
				types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
				types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
			},
		})
		if err != nil {
			t.Fatalf("GetQueueAttributes: %v", err)
		}
		last = out.Attributes
		match := true
		for k, v := range want {
			match = match && last[k] == v
		}
		if match {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetQueueAttributes: %v, want %v", last, want)
		}
		time.Sleep(delay)
	}
}

func checkAttr(t *testing.T, body string, m types.Message, name, dataType, str string, bin []byte) {
	t.Helper()
	a, ok := m.MessageAttributes[name]
	if !ok {
		t.Errorf("%s: no message attribute %q (have %v)", body, name, slices.Sorted(maps.Keys(m.MessageAttributes)))
		return
	}
	if aws.ToString(a.DataType) != dataType {
		t.Errorf("%s: attribute %s has DataType %q, want %q", body, name, aws.ToString(a.DataType), dataType)
	}
	if bin != nil {
		if string(a.BinaryValue) != string(bin) {
			t.Errorf("%s: attribute %s = %x, want %x", body, name, a.BinaryValue, bin)
		}
		return
	}
	if aws.ToString(a.StringValue) != str {
		t.Errorf("%s: attribute %s = %q, want %q", body, name, aws.ToString(a.StringValue), str)
	}
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func bodies(ms []types.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, aws.ToString(m.Body))
	}
	return out
}
