package dataplane

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/scaler"
)

// minRateInterval is the shortest interval a processing rate is computed
// over; evaluations closer together (pokes) keep the last rate.
const minRateInterval = 500 * time.Millisecond

// rate is a function's completions per second per ready replica, as last
// measured.
type rate struct {
	at   time.Time
	done uint64
	last float64
}

// observer measures the function key as it is at each call: the backlog
// of the buffers it serves and of the vertices feeding them, in-flight and
// waiting requests, and its processing rate.
func (p *Plane) observer(key string) scaler.Observer {
	return func(ctx context.Context) (scaler.Observation, error) {
		var o scaler.Observation
		p.mu.Lock()
		fn := p.functions[key]
		if fn == nil {
			p.mu.Unlock()
			return o, fmt.Errorf("function %s is not running", key)
		}
		inputs, upstream, invoker := fn.inputs, fn.upstream, fn.invoker
		p.mu.Unlock()
		var err error
		if o.Backlog, err = pendingSum(ctx, inputs); err != nil {
			return o, err
		}
		for _, u := range upstream {
			n, err := u.Backlog(ctx)
			if err != nil {
				// Upstream backlog only wakes the function ahead of its
				// events: one that cannot be read (a Pulsar admin URL that
				// is wrong, a broker down) must not stop scaling on the
				// function's own backlog.
				p.cfg.Log.Warn("upstream backlog; scaling on the function's own", "function", key, "error", err)
				continue
			}
			o.UpstreamBacklog += n
		}
		if invoker != nil {
			// Buffered events in flight are already in the backlog.
			o.InFlight, o.Waiting = invoker.InFlight(), invoker.Waiting()
		}
		_, ready := p.cfg.Runner.Status(key)
		o.Rate = fn.rate.update(time.Now(), p.cfg.Pool.Completed(key), ready)
		return o, nil
	}
}

// update measures the rate since the last measurement at least
// minRateInterval ago, and returns the latest.
func (r *rate) update(now time.Time, done uint64, ready int) float64 {
	if elapsed := now.Sub(r.at); r.at.IsZero() || elapsed >= minRateInterval {
		r.last = 0
		if !r.at.IsZero() && ready > 0 {
			r.last = float64(done-r.done) / elapsed.Seconds() / float64(ready)
		}
		r.at, r.done = now, done
	}
	return r.last
}

// backlogger is what feeds a function: a vertex's buffer or a source.
type backlogger interface {
	Backlog(ctx context.Context) (int64, error)
}

// bufferBacklog is a buffer as a backlogger.
type bufferBacklog struct{ b buffer.Buffer }

func (b bufferBacklog) Backlog(ctx context.Context) (int64, error) { return b.b.Pending(ctx) }

func pendingSum(ctx context.Context, bufs []buffer.Buffer) (int64, error) {
	var sum int64
	for _, b := range bufs {
		n, err := b.Pending(ctx)
		if err != nil {
			return 0, fmt.Errorf("pending: %w", err)
		}
		sum += n
	}
	return sum, nil
}

// Collector exposes every vertex's buffer backlog as a gauge.
func (p *Plane) Collector() prometheus.Collector { return backlogCollector{p} }

type backlogCollector struct{ p *Plane }

var backlogDesc = prometheus.NewDesc("freshet_vertex_backlog", "Events written to a vertex's buffer and not yet acked.", []string{"vertex"}, nil)

func (backlogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- backlogDesc }

func (c backlogCollector) Collect(ch chan<- prometheus.Metric) {
	c.p.mu.Lock()
	bufs := make(map[string]buffer.Buffer, len(c.p.buffers))
	for path, b := range c.p.buffers {
		bufs[path] = b
	}
	c.p.mu.Unlock()
	for path, b := range bufs {
		n, err := b.Pending(context.Background())
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(n), path)
	}
}
