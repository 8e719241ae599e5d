// Package dev runs Freshet on one machine, as `freshet dev` does: an
// embedded NATS JetStream buffer, the router, a dispatcher per vertex and
// functions as local processes, all in one process.
package dev

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer/jetstream"
	"github.com/freshetproj/freshet/pkg/connect"
	"github.com/freshetproj/freshet/pkg/dataplane"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/runtime/local"
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
	var rt *runner
	srv, err := dataplane.NewServer(dataplane.ServerConfig{
		Store: store,
		NewRunner: func(pool *router.Pool) dataplane.Runner {
			rt = &runner{Runtime: local.New(local.Config{Router: pool, Log: cfg.ProcessLog}), grace: cfg.Grace, specs: map[string]local.ProcessSpec{}}
			return rt
		},
		FunctionKey:   functionKey,
		OpenSource:    connect.OpenSource,
		OpenSink:      connect.OpenSink,
		MaxBodyBytes:  cfg.MaxBodyBytes,
		Grace:         cfg.Grace,
		ScaleInterval: cfg.ScaleInterval,
		Stdout:        cfg.Stdout,
		Log:           cfg.Log,
	})
	if err != nil {
		return err
	}
	// Functions stop after the server drained: in-flight work needs them.
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Grace+5*time.Second)
		defer cancel()
		if err := rt.Close(closeCtx); err != nil {
			cfg.Log.Warn("stopping functions", "error", err)
		}
	}()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if err := srv.Plane.Apply(ctx, res); err != nil {
		ln.Close()
		srv.Plane.Close()
		return err
	}
	return srv.Serve(ctx, ln, func(base string) {
		cfg.Log.Info("freshet dev is ready", "url", base, "data", cfg.DataDir)
		if cfg.Listening != nil {
			cfg.Listening(base)
		}
	}, nil)
}
