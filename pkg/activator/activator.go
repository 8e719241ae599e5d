// Package activator is Freshet's data plane in Kubernetes: the same router,
// dispatchers and scaler as freshet dev, fed by watches of Functions,
// Vertices and the Pods of functions, buffering in an external NATS
// JetStream, and scaling through the scale subresource.
package activator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/buffer/jetstream"
	"github.com/freshetproj/freshet/pkg/connect"
	"github.com/freshetproj/freshet/pkg/dataplane"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/runtime/kubernetes"
)

// Config is everything the activator needs besides the cluster.
type Config struct {
	// Addr is where the router listens: events, invocations, /healthz,
	// /readyz and /metrics. Default :8080.
	Addr string
	// NATSURL is the NATS JetStream the buffers live in. Required.
	NATSURL string
	// MaxBodyBytes limits an ingress request body. Default 4 MiB, or less
	// when the NATS server's max_payload is smaller.
	MaxBodyBytes int64
	// Grace bounds each step of shutdown. Default 30s.
	Grace time.Duration
	// ScaleInterval is how often the scaler evaluates every function.
	// Default 1s.
	ScaleInterval time.Duration
	// BacklogInterval is how often Vertex backlogs are reported. Default 1s.
	BacklogInterval time.Duration
	// Stdout receives the log sinks' JSON lines. Default os.Stdout.
	Stdout io.Writer
	Log    *slog.Logger
	// Listening, if set, is called with the router's base URL once it
	// serves what the cluster holds.
	Listening func(baseURL string)
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Scheme has the types the activator reads and writes.
func Scheme() (*k8sruntime.Scheme, error) {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Run serves until ctx ends, then stops taking events, lets in-flight work
// finish (up to Grace) and returns nil.
func Run(ctx context.Context, cfg Config, restConfig *rest.Config) error {
	cfg.defaults()
	if cfg.NATSURL == "" {
		return errors.New("no NATS JetStream URL: set --nats-url or NATS_URL")
	}
	store, err := jetstream.Open(ctx, jetstream.Config{URL: cfg.NATSURL})
	if err != nil {
		return fmt.Errorf("connect to NATS JetStream at %s: %w", cfg.NATSURL, err)
	}
	defer store.Close()
	scheme, err := Scheme()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  cache.Options{ByObject: kubernetes.CacheByObject()},
		Metrics:                metricsserver.Options{BindAddress: "0"}, // the router serves /metrics
		HealthProbeBindAddress: "0",                                     // and /healthz, /readyz
		// Its controllers' metrics are not served (above), so names
		// repeated by several activators in one process (tests) harm
		// nothing.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	srv, err := dataplane.NewServer(dataplane.ServerConfig{
		Store: store,
		NewRunner: func(*router.Pool) dataplane.Runner {
			return &kubernetes.Runner{Scaler: &kubernetes.Scaler{Client: mgr.GetClient()}}
		},
		FunctionKey:   FunctionKey,
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
	sync := &kubernetes.Sync{Client: mgr.GetClient(), Plane: srv.Plane}
	if err := sync.SetupWithManager(mgr, ""); err != nil {
		return err
	}
	if err := (&kubernetes.Endpoints{Client: mgr.GetClient(), Router: srv.Pool}).SetupWithManager(mgr, ""); err != nil {
		return err
	}
	if err := mgr.Add(&kubernetes.BacklogReporter{Client: mgr.GetClient(), Backlogs: srv.Plane, Interval: cfg.BacklogInterval, Log: cfg.Log}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()

	// The manager outlives the server's drain: in-flight work still needs
	// endpoints and scaling.
	mgrCtx, stopMgr := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMgr()
	mgrErr := make(chan error, 1)
	go func() {
		if err := mgr.Start(mgrCtx); err != nil {
			mgrErr <- fmt.Errorf("watching the cluster: %w", err)
		}
	}()
	if err := firstSync(ctx, cfg.Log, mgr, sync, srv.Plane, mgrErr); err != nil {
		srv.Plane.Close()
		return err
	}
	return srv.Serve(ctx, ln, func(base string) {
		cfg.Log.Info("freshet activator is ready", "url", base, "nats", cfg.NATSURL)
		if cfg.Listening != nil {
			cfg.Listening(base)
		}
	}, mgrErr)
}

// firstSync waits for the cache and applies what the cluster holds, so the
// router serves nothing before it knows every source and Function.
func firstSync(ctx context.Context, log *slog.Logger, mgr ctrl.Manager, sync *kubernetes.Sync, plane *dataplane.Plane, mgrErr <-chan error) error {
	synced := make(chan bool, 1)
	go func() { synced <- mgr.GetCache().WaitForCacheSync(ctx) }()
	select {
	case ok := <-synced:
		if !ok {
			return fmt.Errorf("the cache of Functions, Vertices and function Pods did not sync: %w", context.Cause(ctx))
		}
	case err := <-mgrErr:
		return err
	}
	res, err := sync.Resources(ctx)
	if err != nil {
		return err
	}
	if err := plane.Apply(ctx, res); err != nil {
		// Invalid objects are left out; the watch retries the rest.
		log.Warn("first sync", "error", err)
	}
	return nil
}

// FunctionKey names the replica set of a function vertex in Kubernetes:
// every function vertex runs its own Deployment and Service, named after
// the Vertex object, and the router knows a Service's endpoints by
// "<namespace>/<service name>".
func FunctionKey(v *v1alpha1.Vertex) string { return v.Namespace + "/" + v.Name }
