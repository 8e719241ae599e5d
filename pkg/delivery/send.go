package delivery

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
)

// MaxReplyBytes bounds the body of a reply read from a function (32 MiB).
const MaxReplyBytes = 32 << 20

// Sender makes one attempt to POST events to a URL: one event in binary
// mode, or a batch as application/cloudevents-batch+json.
type Sender struct {
	Client *http.Client
}

// NewSender returns a Sender whose transport keeps enough idle connections
// per host for many concurrent attempts (the default of 2 exhausts loopback
// ports in TIME_WAIT under load).
func NewSender() *Sender {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &Sender{Client: &http.Client{Transport: t}}
}

// Send makes one attempt within timeout. It returns the reply events (none
// for an empty 2xx) or a *Failure.
func (s *Sender) Send(ctx context.Context, url string, events []*cloudevent.Event, batch bool, timeout time.Duration) ([]*cloudevent.Event, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var req *http.Request
	var err error
	switch {
	case batch:
		req, err = cloudevent.NewBatchRequest(ctx, url, events)
	case len(events) == 1:
		req, err = cloudevent.NewRequest(ctx, url, events[0])
	default:
		err = fmt.Errorf("%d events without batch mode", len(events))
	}
	if err != nil {
		return nil, Permanent(url, err)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, AsFailure(url, err)
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4096)
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
		f := &Failure{Destination: url, Code: resp.StatusCode, Body: body}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			f.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return nil, f
	}
	replies, err := cloudevent.ReadResponse(resp, MaxReplyBytes)
	if err != nil {
		// The function answered 2xx with something that is not a valid
		// CloudEvent: it will do so again, so don't retry.
		return nil, &Failure{Destination: url, Code: resp.StatusCode, Body: []byte(err.Error()), Err: fmt.Errorf("%w: invalid reply: %w", errPermanent, err)}
	}
	return replies, nil
}
