// Package function is the small Go helper for Freshet function authors: write
// a Handler, call Serve, and the function speaks the Freshet function
// contract (CloudEvents over HTTP on $PORT, GET /healthz, status codes that
// tell the router whether to retry).
package function

import (
	"context"
	"errors"

	"github.com/freshetproj/freshet/pkg/cloudevent"
)

// Handler handles one event. It returns the reply event, or nil for no reply
// (the event is filtered out). A returned error is retried by the router
// unless it is wrapped with Permanent.
type Handler func(ctx context.Context, e *cloudevent.Event) (*cloudevent.Event, error)

// permanentError marks an error as a permanent failure.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent marks err as a permanent failure: the function answers 422 and
// the router sends the event to the dead-letter sink instead of retrying.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
