package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// Defaults of the controller's options.
const (
	// DefaultActivatorURL is the activator's Service in the namespace that
	// config/default installs into.
	DefaultActivatorURL = "http://freshet-activator.freshet-system.svc.cluster.local"
	// DefaultLeaderElectionID is the name of the Lease the controller
	// replicas compete for; config/rbac's leader-election Role grants
	// access to this name only.
	DefaultLeaderElectionID = "freshet-controller-leader"
)

// Config is everything the controller reads from its flags and environment.
// A flag wins over its environment variable, which wins over the default.
type Config struct {
	// Kubeconfig is the path of a kubeconfig file. Default empty: $KUBECONFIG,
	// the in-cluster service account, or ~/.kube/config, in that order.
	// Flag --kubeconfig.
	Kubeconfig string
	// MetricsAddr is where Prometheus metrics are served (host:port; "0"
	// turns them off). Default ":8080". Flag --metrics-bind-address, env
	// FRESHET_METRICS_BIND_ADDRESS.
	MetricsAddr string
	// HealthProbeAddr serves /healthz and /readyz for the kubelet's probes.
	// Default ":8081". Flag --health-probe-bind-address, env
	// FRESHET_HEALTH_PROBE_BIND_ADDRESS.
	HealthProbeAddr string
	// LeaderElect makes replicas elect one leader that runs the
	// reconcilers; the others wait. Default true. Flag --leader-elect, env
	// FRESHET_LEADER_ELECT.
	LeaderElect bool
	// LeaderElectionID is the name of the Lease used for the election.
	// Default DefaultLeaderElectionID. Flag --leader-election-id.
	LeaderElectionID string
	// LeaderElectionNamespace holds the Lease. Default $POD_NAMESPACE (set by
	// the Deployment from the downward API), or else the namespace of the
	// in-cluster service account. Flag --leader-election-namespace.
	LeaderElectionNamespace string
	// ActivatorURL is the base URL of the activator's Service; a Function's
	// address is ActivatorURL/functions/<namespace>/<name>. Default
	// DefaultActivatorURL. Flag --activator-url, env FRESHET_ACTIVATOR_URL.
	ActivatorURL string
	// LogLevel is the least severe level logged, as JSON lines on standard
	// error: debug, info, warn or error. Default info. Flag --log-level, env
	// FRESHET_LOG_LEVEL.
	LogLevel slog.Level
}

// parseConfig reads the controller's Config from its command-line arguments
// (without the program name) and environment.
func parseConfig(args []string, getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	leaderElect, err := strconv.ParseBool(env("FRESHET_LEADER_ELECT", "true"))
	if err != nil {
		return Config{}, fmt.Errorf("FRESHET_LEADER_ELECT: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(env("FRESHET_LOG_LEVEL", "info"))); err != nil {
		return Config{}, fmt.Errorf("FRESHET_LOG_LEVEL: %w", err)
	}
	var c Config
	fs := flag.NewFlagSet("freshet-controller", flag.ContinueOnError)
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "path of a kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)")
	fs.StringVar(&c.MetricsAddr, "metrics-bind-address", env("FRESHET_METRICS_BIND_ADDRESS", ":8080"), `address of the metrics endpoint ("0" turns it off)`)
	fs.StringVar(&c.HealthProbeAddr, "health-probe-bind-address", env("FRESHET_HEALTH_PROBE_BIND_ADDRESS", ":8081"), "address of /healthz and /readyz")
	fs.BoolVar(&c.LeaderElect, "leader-elect", leaderElect, "elect one active replica through a Lease")
	fs.StringVar(&c.LeaderElectionID, "leader-election-id", DefaultLeaderElectionID, "name of the leader-election Lease")
	fs.StringVar(&c.LeaderElectionNamespace, "leader-election-namespace", getenv("POD_NAMESPACE"), "namespace of the leader-election Lease (default $POD_NAMESPACE, or the in-cluster namespace)")
	fs.StringVar(&c.ActivatorURL, "activator-url", env("FRESHET_ACTIVATOR_URL", DefaultActivatorURL), "base URL of the activator's Service")
	fs.TextVar(&c.LogLevel, "log-level", level, "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.ActivatorURL = strings.TrimRight(c.ActivatorURL, "/")
	return c, c.validate()
}

func (c Config) validate() error {
	u, err := url.Parse(c.ActivatorURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--activator-url %q: want an absolute http or https URL", c.ActivatorURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--activator-url %q: want a base URL without query or fragment", c.ActivatorURL)
	}
	if c.LeaderElect && c.LeaderElectionID == "" {
		return errors.New("--leader-election-id must not be empty when --leader-elect is on")
	}
	return nil
}
