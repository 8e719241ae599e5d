package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Failure is a failed attempt to deliver events.
type Failure struct {
	// Destination is where the events were sent (a URL, or a sink's name).
	Destination string
	// Code is the HTTP status code, 0 when no response came (timeout,
	// connection error).
	Code int
	// Body is the start of the response body, at most MaxBody bytes.
	Body []byte
	// RetryAfter is the delay asked for by a Retry-After header on 429 or
	// 503, 0 when none.
	RetryAfter time.Duration
	// Err is the transport error when Code is 0, or a description.
	Err error
}

// MaxBody is how much of a failed response body is kept (1 KiB).
const MaxBody = 1024

func (f *Failure) Error() string {
	if f.Code == 0 {
		return fmt.Sprintf("deliver to %s: %v", f.Destination, f.Err)
	}
	return fmt.Sprintf("deliver to %s: status %d: %s", f.Destination, f.Code, f.Body)
}

func (f *Failure) Unwrap() error { return f.Err }

// Retriable reports whether the failure may succeed on another attempt:
// no response at all (timeouts, connection errors), 5xx, 404, 408, 409 and
// 429. Other 4xx codes are permanent.
func (f *Failure) Retriable() bool {
	switch {
	case f.Code == 0:
		return !errors.Is(f.Err, errPermanent)
	case f.Code >= 500:
		return true
	}
	switch f.Code {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return false
}

var errPermanent = errors.New("permanent failure")

// Permanent wraps err as a failure that is never retried, for errors the
// sender knows cannot go away (an event that cannot be encoded, say).
func Permanent(destination string, err error) *Failure {
	return &Failure{Destination: destination, Err: fmt.Errorf("%w: %w", errPermanent, err)}
}

// AsFailure turns any error from an attempt into a Failure: a context
// deadline becomes a timeout, anything else a connection-level failure.
func AsFailure(destination string, err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Failure{Destination: destination, Err: fmt.Errorf("timeout: %w", err)}
	}
	return &Failure{Destination: destination, Err: err}
}

// ParseRetryAfter reads a Retry-After header value: delay-seconds or an
// HTTP date relative to now. It returns 0 for an empty or invalid value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int(maxBackoff/time.Second) {
			return maxBackoff
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxBackoff)
	}
	return 0
}
