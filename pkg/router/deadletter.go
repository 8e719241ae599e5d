package router

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Extensions a dead-lettered event carries, as Knative's knativeerror* do.
const (
	// ExtErrorDest names where delivery failed (URL or sink).
	ExtErrorDest = "fresheterrordest"
	// ExtErrorCode is the last HTTP status code, "0" when none came.
	ExtErrorCode = "fresheterrorcode"
	// ExtErrorData is the first 1 KiB of the last response body (or the
	// transport error), base64-encoded.
	ExtErrorData = "fresheterrordata"
)

// DeadLetter takes events that could not be delivered.
type DeadLetter interface {
	DeadLetter(ctx context.Context, e *cloudevent.Event, id string) error
}

// MarkFailed returns a copy of e with the error extensions describing f.
func MarkFailed(e *cloudevent.Event, f *delivery.Failure) *cloudevent.Event {
	out := e.Clone()
	out.SetExtension(ExtErrorDest, f.Destination)
	out.SetExtension(ExtErrorCode, strconv.Itoa(f.Code))
	body := f.Body
	if len(body) == 0 && f.Err != nil {
		body = []byte(f.Err.Error())
	}
	if len(body) > delivery.MaxBody {
		body = body[:delivery.MaxBody]
	}
	out.SetExtension(ExtErrorData, base64.StdEncoding.EncodeToString(body))
	return out
}

// BufferDeadLetter writes dead letters durably into a sink vertex's buffer.
type BufferDeadLetter struct {
	To  string
	Out buffer.Buffer
}

// DeadLetter writes e.
func (d *BufferDeadLetter) DeadLetter(ctx context.Context, e *cloudevent.Event, id string) error {
	err := d.Out.Write(ctx, []buffer.Message{{ID: id, Data: cloudevent.MarshalRecord(e)}})
	if err != nil {
		return fmt.Errorf("dead-letter to %s: %w", d.To, err)
	}
	return nil
}

// HTTPDeadLetter POSTs dead letters to a URL, one attempt each; a failure
// leaves the event to be tried again later.
type HTTPDeadLetter struct {
	URL     string
	Sender  *delivery.Sender
	Timeout time.Duration
}

// DeadLetter sends e.
func (d *HTTPDeadLetter) DeadLetter(ctx context.Context, e *cloudevent.Event, _ string) error {
	_, err := d.Sender.Send(ctx, d.URL, []*cloudevent.Event{e}, false, d.Timeout)
	return err
}
