// Package dev runs Freshet on one machine, as `freshet dev` does: an
// embedded NATS JetStream buffer, the router, a dispatcher per vertex and
// functions as local processes, all in one process.
package dev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer/jetstream"
	"github.com/freshetproj/freshet/pkg/dataplane"
	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/runtime/local"
	"github.com/freshetproj/freshet/pkg/scaler"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Config is everything freshet dev needs besides the resources.
type Config struct {
	// Addr is where the router listens. Default 127.0.0.1:8080.
	Addr string
	// DataDir holds the embedded buffer's files. Default .freshet.
	DataDir string
	// NATSURL uses an external NATS JetStream instead of the embedded one.
	NATSURL string
	// MaxBodyBytes limits an ingress request body. Default 4 MiB.
	MaxBodyBytes int64
	// Grace bounds each step of shutdown: in-flight requests, in-flight
	// deliveries, replica drains. Default 30s.
	Grace time.Duration
	// Stdout receives the log sinks' JSON lines. Default os.Stdout.
	Stdout io.Writer
	// ProcessLog receives the functions' output. Default os.Stderr.
	ProcessLog io.Writer
	Log        *slog.Logger
	// ScaleInterval is how often the scaler evaluates every function
	// (it also acts at once when a cold function gets work). Default 1s.
	ScaleInterval time.Duration
	// Listening, if set, is called with the router's base URL once it
	// accepts requests.
	Listening func(baseURL string)
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = ".freshet"
	}
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.ProcessLog == nil {
		c.ProcessLog = os.Stderr
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// recordOverhead is the room kept for an event's attributes beside its body.
const recordOverhead = 64 << 10

// Resources are what runs: Functions (each invocable and running its
// replicas) and the Vertices of every Pipeline.
type Resources = dataplane.Resources

// Run starts everything and serves until ctx ends, then stops taking
// events, drains in-flight work and returns nil. Events still buffered are
// resumed by the next Run on the same data directory.
func Run(ctx context.Context, cfg Config, res Resources) error {
	cfg.defaults()
	store, err := jetstream.Open(ctx, jetstream.Config{URL: cfg.NATSURL, DataDir: filepath.Join(cfg.DataDir, "jetstream")})
	if err != nil {
		return fmt.Errorf("open buffer store: %w", err)
	}
	defer store.Close()
	body := cfg.MaxBodyBytes
	if body <= 0 {
		body = router.DefaultMaxBodyBytes
	}
	// A stored event is its body plus its attributes and the dedup id.
	if limit := store.MaxMessageBytes(); body+recordOverhead > limit {
		return fmt.Errorf("max body bytes %d does not fit the buffer's largest message (%d bytes, less %d for attributes): lower it, or raise the NATS server's max_payload", body, limit, recordOverhead)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pool := router.NewPool()
	metrics := router.NewMetrics(reg)
	rt := &runner{Runtime: local.New(local.Config{Router: pool, Log: cfg.ProcessLog}), grace: cfg.Grace, specs: map[string]local.ProcessSpec{}}
	loop := &scaler.Loop{Replicas: rt, Interval: cfg.ScaleInterval, Log: cfg.Log, Metrics: scaler.NewMetrics(reg)}
	pool.Wake = loop.Poke
	pool.ColdStart = metrics.ColdStart
	ingress := &router.Ingress{
		MaxBodyBytes: cfg.MaxBodyBytes,
		Gatherer:     reg,
		Metrics:      metrics,
		Log:          cfg.Log,
	}
	plane := dataplane.New(dataplane.Config{
		Store:       store,
		Pool:        pool,
		Ingress:     ingress,
		Scaler:      loop,
		Runner:      rt,
		Sender:      delivery.NewSender(),
		Metrics:     metrics,
		FunctionKey: functionKey,
		Stdout:      cfg.Stdout,
		Grace:       cfg.Grace,
		Log:         cfg.Log,
	})
	if err := plane.Apply(ctx, res); err != nil {
		ln.Close()
		plane.Close()
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Grace)
		defer cancel()
		_ = rt.Close(closeCtx)
		return err
	}
	reg.MustRegister(plane.Collector())

	// The scaler outlives the dispatchers' drain, so in-flight work can
	// still wake a function.
	scaleCtx, stopScaling := context.WithCancel(context.WithoutCancel(ctx))
	scaling := make(chan struct{})
	go func() {
		defer close(scaling)
		loop.Run(scaleCtx)
	}()
	srv := &http.Server{Handler: ingress.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	cfg.Log.Info("freshet dev is ready", "url", base, "data", cfg.DataDir)
	if cfg.Listening != nil {
		cfg.Listening(base)
	}

	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("router: %w", err)
	}
	cfg.Log.Info("shutting down: no new events; draining in-flight work")
	ingress.SetDraining()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Grace)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil {
		srv.Close()
	}
	plane.Close()
	stopScaling()
	<-scaling
	rtCtx, cancelRt := context.WithTimeout(context.WithoutCancel(ctx), cfg.Grace+5*time.Second)
	defer cancelRt()
	if rerr := rt.Close(rtCtx); rerr != nil {
		cfg.Log.Warn("stopping functions", "error", rerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
