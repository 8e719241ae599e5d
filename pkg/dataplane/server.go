package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/scaler"
	"github.com/freshetproj/freshet/pkg/sink"
	"github.com/freshetproj/freshet/pkg/source"
)

// ServerConfig is what a Server is built from.
type ServerConfig struct {
	Store buffer.Store
	// NewRunner makes the Runner of functions' replicas; it gets the pool,
	// which wants their ready endpoints.
	NewRunner   func(pool *router.Pool) Runner
	FunctionKey func(v *v1alpha1.Vertex) string
	// OpenSource and OpenSink connect to other systems' sources and sinks
	// (see Config).
	OpenSource func(v *v1alpha1.Vertex) (source.Source, error)
	OpenSink   func(v *v1alpha1.Vertex) (sink.Sink, error)
	// MaxBodyBytes limits an ingress request body. Default 4 MiB, or less
	// when the buffer's largest message is smaller.
	MaxBodyBytes int64
	// Grace bounds each step of shutdown. Default 30s.
	Grace time.Duration
	// ScaleInterval is how often the scaler evaluates every function.
	// Default 1s.
	ScaleInterval time.Duration
	// Stdout receives the log sinks' JSON lines. Default os.Stdout.
	Stdout io.Writer
	Log    *slog.Logger
}

// Server is the router with its data plane and scaler: what freshet dev
// and the activator both serve.
type Server struct {
	Registry *prometheus.Registry
	Pool     *router.Pool
	Runner   Runner
	Ingress  *router.Ingress
	Scaler   *scaler.Loop
	Plane    *Plane

	grace time.Duration
	log   *slog.Logger
}

// recordOverhead is the room kept in a buffered message for an event's
// attributes and dedup id beside its body.
const recordOverhead = 64 << 10

// maxMessageBytes is what a Store can tell of its largest message.
type maxMessageBytes interface{ MaxMessageBytes() int64 }

// NewServer builds the parts; nothing runs until Serve.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	body, err := bodyLimit(cfg.MaxBodyBytes, cfg.Store)
	if err != nil {
		return nil, err
	}
	s := &Server{Registry: prometheus.NewRegistry(), Pool: router.NewPool(), grace: cfg.Grace, log: cfg.Log}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := router.NewMetrics(s.Registry)
	s.Runner = cfg.NewRunner(s.Pool)
	s.Scaler = &scaler.Loop{Replicas: s.Runner, Interval: cfg.ScaleInterval, Log: cfg.Log, Metrics: scaler.NewMetrics(s.Registry)}
	s.Pool.Wake = s.Scaler.Poke
	s.Pool.ColdStart = metrics.ColdStart
	s.Ingress = &router.Ingress{MaxBodyBytes: body, Gatherer: s.Registry, Metrics: metrics, Log: cfg.Log}
	s.Plane = New(Config{
		Store:       cfg.Store,
		Pool:        s.Pool,
		Ingress:     s.Ingress,
		Scaler:      s.Scaler,
		Runner:      s.Runner,
		Sender:      delivery.NewSender(),
		Metrics:     metrics,
		FunctionKey: cfg.FunctionKey,
		OpenSource:  cfg.OpenSource,
		OpenSink:    cfg.OpenSink,
		Stdout:      cfg.Stdout,
		Grace:       cfg.Grace,
		Log:         cfg.Log,
	})
	s.Registry.MustRegister(s.Plane.Collector())
	return s, nil
}

// bodyLimit is the largest request body: asked (0 for the default) and
// able to fit, with its attributes, in one buffered message.
func bodyLimit(asked int64, store buffer.Store) (int64, error) {
	limit := int64(-1) // unknown
	if m, ok := store.(maxMessageBytes); ok && m.MaxMessageBytes() > 0 {
		if limit = m.MaxMessageBytes() - recordOverhead; limit <= 0 {
			return 0, fmt.Errorf("the buffer's largest message (%d bytes) leaves no room for a body beside %d bytes of attributes: raise the NATS server's max_payload", m.MaxMessageBytes(), recordOverhead)
		}
	}
	switch {
	case asked <= 0 && limit > 0:
		return min(router.DefaultMaxBodyBytes, limit), nil
	case asked <= 0:
		return router.DefaultMaxBodyBytes, nil
	case limit >= 0 && asked > limit:
		return 0, fmt.Errorf("max body bytes %d does not fit the buffer's largest message (%d bytes, less %d for attributes): lower it, or raise the NATS server's max_payload", asked, limit+recordOverhead, recordOverhead)
	}
	return asked, nil
}

// Serve runs the scaler and serves HTTP on ln until ctx ends or fail
// yields an error; then it stops taking events (/readyz and new events
// answer 503), lets in-flight requests and deliveries finish (each up to
// Grace) and stops the scaler last, so in-flight work can still wake a
// function. ready, if set, is called with the base URL once serving.
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(baseURL string), fail <-chan error) error {
	scaleCtx, stopScaling := context.WithCancel(context.WithoutCancel(ctx))
	scaling := make(chan struct{})
	go func() {
		defer close(scaling)
		s.Scaler.Run(scaleCtx)
	}()
	srv := &http.Server{Handler: s.Ingress.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if ready != nil {
		ready("http://" + ln.Addr().String())
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("router: %w", err)
	case err = <-fail:
	}
	s.log.Info("shutting down: no new events; draining in-flight work")
	s.Ingress.SetDraining()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.grace)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil {
		srv.Close()
	}
	s.Plane.Close()
	stopScaling()
	<-scaling
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
