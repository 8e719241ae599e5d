package jetstream

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/buffer/buffertest"
)

// harness opens embedded stores, each in its own temporary directory.
type harness struct {
	mu      sync.Mutex
	configs map[buffer.Store]Config
}

func (h *harness) Open(t *testing.T, opts buffertest.Options) buffer.Store {
	return h.open(t, Config{DataDir: t.TempDir(), AckWait: opts.AckWait})
}

func (h *harness) Restart(t *testing.T, s buffer.Store) buffer.Store {
	h.mu.Lock()
	cfg := h.configs[s]
	h.mu.Unlock()
	// A clean close; the suite may have done it already.
	if err := s.Close(); err != nil && !errors.Is(err, buffer.ErrClosed) {
		t.Fatalf("Close before restart: %v", err)
	}
	return h.open(t, cfg)
}

func (h *harness) open(t *testing.T, cfg Config) buffer.Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h.mu.Lock()
	h.configs[s] = cfg
	h.mu.Unlock()
	return s
}

func TestConformance(t *testing.T) {
	buffertest.Run(t, &harness{configs: map[buffer.Store]Config{}})
}
