package dataplane

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/freshetproj/freshet/pkg/router"
)

type backlogOf struct {
	n   int64
	err error
}

func (b backlogOf) Backlog(context.Context) (int64, error) { return b.n, b.err }

// fixedRunner reports no replicas.
type fixedRunner struct{ Runner }

func (fixedRunner) Status(string) (desired, ready int) { return 0, 0 }

// TestObserverSkipsUpstreamErrors: an upstream whose backlog cannot be
// read is left out; the others still count and the observation stands.
func TestObserverSkipsUpstreamErrors(t *testing.T) {
	p := &Plane{
		cfg: Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Pool: router.NewPool(), Runner: fixedRunner{}},
		functions: map[string]*function{"ns/fn": {
			upstream: []backlogger{backlogOf{n: 3}, backlogOf{err: errors.New("admin URL refused")}, backlogOf{n: 4}},
		}},
	}
	o, err := p.observer("ns/fn")(context.Background())
	if err != nil {
		t.Fatalf("observation failed: %v", err)
	}
	if o.UpstreamBacklog != 7 {
		t.Errorf("upstream backlog %d, want 7 (the two readable upstreams)", o.UpstreamBacklog)
	}
}
