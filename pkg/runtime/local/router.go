package local

import "context"

// Router is told which replicas take events, and drains them.
type Router interface {
	// SetEndpoints replaces the set of ready replica base URLs (http://127.0.0.1:PORT) of function.
	SetEndpoints(function string, urls []string)
	// WaitIdle returns when no request is in flight to url of function (already withdrawn by SetEndpoints), or ctx ends.
	WaitIdle(ctx context.Context, function, url string) error
}

// noRouter is the Router used when Config.Router is nil: it routes nothing and never waits.
type noRouter struct{}

func (noRouter) SetEndpoints(string, []string) {}

func (noRouter) WaitIdle(context.Context, string, string) error { return nil }
