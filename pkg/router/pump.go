package router

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
)

// Pump moves a source vertex's events from its Source into the buffers of
// its edges: it reads batches, writes each durably along every matching
// route, and only then acks; a batch that could not be written is nacked,
// so the source's system delivers it again.
type Pump struct {
	// Vertex names the source vertex in logs and metrics.
	Vertex string
	Source source.Source
	Routes []Route
	// MaxBatch bounds the events written at once. Default 512.
	MaxBatch int
	// Writers bounds the batches being written at once, while the next is
	// read. Default 4.
	Writers int
	// RetryDelay is the nack delay of a batch that could not be written.
	// Default 1s.
	RetryDelay time.Duration
	// Grace is how long writes in flight may finish after Run's context
	// ends. Default 30s.
	Grace   time.Duration
	Log     *slog.Logger
	Metrics *Metrics
}

func (p *Pump) defaults() {
	if p.MaxBatch <= 0 {
		p.MaxBatch = 512
	}
	if p.Writers <= 0 {
		p.Writers = 4
	}
	if p.RetryDelay <= 0 {
		p.RetryDelay = time.Second
	}
	if p.Grace <= 0 {
		p.Grace = 30 * time.Second
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
}

// Run pumps until ctx ends, then lets the writes in flight finish (up to
// Grace) and returns. It does not close the Source.
func (p *Pump) Run(ctx context.Context) error {
	p.defaults()
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(p.Grace, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	batches := make(chan []source.Message, p.Writers)
	var wg sync.WaitGroup
	for range p.Writers {
		wg.Go(func() {
			for b := range batches {
				p.write(work, b)
			}
		})
	}
	defer func() {
		close(batches)
		wg.Wait()
	}()
	failures := 0
	for {
		msgs, err := p.Source.Read(ctx, p.MaxBatch, readWait)
		switch {
		case ctx.Err() != nil:
			for _, m := range msgs {
				_ = m.Nack(work, 0) // not written: the system sends it again
			}
			return nil
		case errors.Is(err, source.ErrClosed):
			return nil
		case err != nil:
			failures++
			p.Log.Warn("reading the source", "vertex", p.Vertex, "error", err)
			if !sleep(ctx, min(time.Duration(failures)*100*time.Millisecond, 5*time.Second)) {
				return nil
			}
			continue
		}
		failures = 0
		if len(msgs) > 0 {
			batches <- msgs
		}
	}
}

// write writes one batch along the routes and settles it.
func (p *Pump) write(ctx context.Context, msgs []source.Message) {
	events := make([]*cloudevent.Event, len(msgs))
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		events[i] = m.Event()
		ids[i] = EventID(events[i])
	}
	err := writeRoutes(ctx, p.Routes, events, ids)
	if errors.Is(err, buffer.ErrTooLarge) && len(msgs) > 1 {
		// Find the event that cannot be stored: write one at a time.
		for _, m := range msgs {
			p.write(ctx, []source.Message{m})
		}
		return
	}
	if r, ok := msgs[0].(source.Rejecter); ok && errors.Is(err, buffer.ErrTooLarge) {
		if rerr := r.Reject(ctx, err); rerr != nil && !errors.Is(rerr, source.ErrClosed) {
			p.Log.Warn("reject", "vertex", p.Vertex, "error", rerr)
		}
		return
	}
	if err != nil {
		p.Log.Error("buffering source events; the source will send them again", "vertex", p.Vertex, "events", len(msgs), "error", err)
		for _, m := range msgs {
			if nerr := m.Nack(ctx, p.RetryDelay); nerr != nil && !errors.Is(nerr, source.ErrClosed) {
				p.Log.Warn("nack", "vertex", p.Vertex, "error", nerr)
			}
		}
		return
	}
	for _, m := range msgs {
		if aerr := m.Ack(ctx); aerr != nil {
			// Written but not acked: the source sends it again and the
			// buffer drops the repeat.
			p.Log.Warn("ack", "vertex", p.Vertex, "error", aerr)
		}
	}
	p.Metrics.accepted(p.Vertex, len(msgs))
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
