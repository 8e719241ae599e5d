package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/freshetproj/freshet/pkg/activator"
)

// Defaults of the activator's options.
const (
	// DefaultAddr is where the router listens; config/activator's Service
	// sends its port 80 here.
	DefaultAddr = ":8080"
	// DefaultGrace bounds each step of shutdown; the Deployment's
	// terminationGracePeriodSeconds leaves room for it.
	DefaultGrace = 30 * time.Second
	// DefaultScaleInterval is how often the scaler evaluates every function.
	DefaultScaleInterval = time.Second
	// DefaultBacklogInterval is how often Vertex backlogs are reported.
	DefaultBacklogInterval = time.Second
)

// Config is everything the activator reads from its flags and environment.
// A flag wins over its environment variable, which wins over the default.
type Config struct {
	// Kubeconfig is the path of a kubeconfig file. Default empty: $KUBECONFIG,
	// the in-cluster service account, or ~/.kube/config, in that order.
	// Flag --kubeconfig.
	Kubeconfig string
	// Addr is where the router listens (host:port): events, invocations,
	// /healthz, /readyz and /metrics. Default DefaultAddr. Flag --addr, env
	// FRESHET_ADDR.
	Addr string
	// NATSURL is the NATS JetStream the buffers live in. Required. Flag
	// --nats-url, env NATS_URL.
	NATSURL string
	// MaxBodyBytes is the largest request body the router accepts, in
	// bytes. Default 0: 4 MiB, or less when the NATS server's max_payload
	// cannot hold that and 64 KiB of attributes. Flag
	// --max-body-bytes, env FRESHET_MAX_BODY_BYTES.
	MaxBodyBytes int64
	// Grace bounds each step of shutdown. Default DefaultGrace. Flag
	// --grace, env FRESHET_GRACE.
	Grace time.Duration
	// ScaleInterval is how often the scaler evaluates every function.
	// Default DefaultScaleInterval. Flag --scale-interval.
	ScaleInterval time.Duration
	// BacklogInterval is how often each Vertex's backlog is written to its
	// status. Default DefaultBacklogInterval. Flag --backlog-interval.
	BacklogInterval time.Duration
	// LogLevel is the least severe level logged, as JSON lines on standard
	// error: debug, info, warn or error. Default info. Flag --log-level, env
	// FRESHET_LOG_LEVEL.
	LogLevel slog.Level
}

// parseConfig reads the activator's Config from its command-line arguments
// (without the program name) and environment.
func parseConfig(args []string, getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	maxBody, err := strconv.ParseInt(env("FRESHET_MAX_BODY_BYTES", "0"), 10, 64)
	if err != nil {
		return Config{}, fmt.Errorf("FRESHET_MAX_BODY_BYTES: want a number of bytes: %w", err)
	}
	grace, err := time.ParseDuration(env("FRESHET_GRACE", DefaultGrace.String()))
	if err != nil {
		return Config{}, fmt.Errorf("FRESHET_GRACE: want a duration such as 30s: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(env("FRESHET_LOG_LEVEL", "info"))); err != nil {
		return Config{}, fmt.Errorf("FRESHET_LOG_LEVEL: %w", err)
	}
	var c Config
	fs := flag.NewFlagSet("freshet-activator", flag.ContinueOnError)
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "path of a kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)")
	fs.StringVar(&c.Addr, "addr", env("FRESHET_ADDR", DefaultAddr), "address the router listens on: events, invocations, /healthz, /readyz and /metrics")
	fs.StringVar(&c.NATSURL, "nats-url", getenv("NATS_URL"), "URL of the NATS JetStream that holds the buffers (required; default $NATS_URL)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", maxBody, "largest accepted request body, in bytes (0: 4 MiB, or what the NATS server's max_payload allows)")
	fs.DurationVar(&c.Grace, "grace", grace, "how long shutdown waits for in-flight work at each step")
	fs.DurationVar(&c.ScaleInterval, "scale-interval", DefaultScaleInterval, "how often the scaler evaluates every function")
	fs.DurationVar(&c.BacklogInterval, "backlog-interval", DefaultBacklogInterval, "how often each Vertex's backlog is written to its status")
	fs.TextVar(&c.LogLevel, "log-level", level, "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if c.NATSURL == "" {
		return errors.New("no NATS JetStream URL: set --nats-url or the NATS_URL environment variable")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q: want host:port, such as :8080", c.Addr)
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("--max-body-bytes %d: want a number of bytes, or 0 for the default", c.MaxBodyBytes)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--grace", c.Grace}, {"--scale-interval", c.ScaleInterval}, {"--backlog-interval", c.BacklogInterval}} {
		if d.v <= 0 {
			return fmt.Errorf("%s %v: want a positive duration", d.flag, d.v)
		}
	}
	return nil
}

// activatorConfig is what activator.Run takes, logging to log.
func (c Config) activatorConfig(log *slog.Logger) activator.Config {
	return activator.Config{
		Addr:            c.Addr,
		NATSURL:         c.NATSURL,
		MaxBodyBytes:    c.MaxBodyBytes,
		Grace:           c.Grace,
		ScaleInterval:   c.ScaleInterval,
		BacklogInterval: c.BacklogInterval,
		Log:             log,
	}
}
