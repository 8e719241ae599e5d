package router

import (
	"context"
	"fmt"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Target is what a vertex sends its events to: a function's replicas or a
// sink. Deliver makes one attempt and returns the reply events, or an error
// (a *delivery.Failure when the target answered).
type Target interface {
	Deliver(ctx context.Context, events []*cloudevent.Event) ([]*cloudevent.Event, error)
}

// FunctionTarget sends events to a ready replica of a function, waiting for
// one with spare capacity.
type FunctionTarget struct {
	Function string // the pool's name for the function
	Pool     *Pool
	Sender   *delivery.Sender
	// Timeout bounds one attempt once a replica is chosen.
	Timeout time.Duration
	// Batch sends events as one application/cloudevents-batch+json request.
	Batch bool
	// ActivationTimeout bounds the wait for a ready replica with a free
	// slot; then the attempt fails (and is retried under the policy), so a
	// function that never becomes ready cannot hold events forever. 0 waits
	// as long as the context allows.
	ActivationTimeout time.Duration
}

// Deliver makes one attempt.
func (t *FunctionTarget) Deliver(ctx context.Context, events []*cloudevent.Event) ([]*cloudevent.Event, error) {
	actx := ctx
	if t.ActivationTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, t.ActivationTimeout)
		defer cancel()
	}
	url, release, err := t.Pool.Acquire(actx, t.Function)
	if err != nil {
		if ctx.Err() == nil {
			err = fmt.Errorf("%w: no ready replica within %v", ErrNotReady, t.ActivationTimeout)
		}
		return nil, err
	}
	defer release()
	return t.send(ctx, url, events)
}

// send makes one attempt on the replica at url.
func (t *FunctionTarget) send(ctx context.Context, url string, events []*cloudevent.Event) ([]*cloudevent.Event, error) {
	return t.Sender.Send(ctx, url, events, t.Batch, t.Timeout)
}
