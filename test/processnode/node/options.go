package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/freshetproj/freshet/test/processnode/podrun"
)

// Options configure Run. Only Config is required.
type Options struct {
	// Config reaches the API server. The node needs to manage its Node and
	// Lease, read and update the Pods bound to it, watch ConfigMaps,
	// Secrets and Services in every namespace, request service-account
	// tokens and record events.
	Config *rest.Config
	// APIServer is the API server's host:port as the pods' processes
	// should reach it (podrun gives it to them as KUBERNETES_SERVICE_HOST
	// and _PORT). Empty means Config.Host's.
	APIServer string

	// NodeName is the Node's name. Default "process-node".
	NodeName string
	// NodeIP is the Node's InternalIP and the IP of hostNetwork pods.
	// Default "127.0.0.1".
	NodeIP string
	// PodIPs is where the other pods' IPs come from, one each, returned
	// when the pod stops. Zero means DefaultPodIPs
	// (127.0.2.1-127.0.254.254); addresses ending in .0 or .255 are skipped.
	PodIPs IPRange
	// Labels are added to (or override) the Node's own labels.
	Labels map[string]string
	// Taints are the Node's taints. Default none.
	Taints []corev1.Taint
	// MaxPods is the Node's pod capacity. Default 110, as a kubelet's.
	MaxPods int

	// Dir holds the pods' files (logs, volumes). Default
	// $TMPDIR/process-node-<NodeName>.
	Dir string
	// Images maps image references to what to run for them: the "image"
	// (a local program) podrun uses in place of pulling one. A container
	// whose image is not here does not start (ErrImagePull).
	Images map[string]podrun.Image
	// Shim, RestartBackoff and MaxRestartBackoff are passed to podrun;
	// zero values take its defaults.
	Shim                              []string
	RestartBackoff, MaxRestartBackoff time.Duration

	// LeaseDurationSeconds is the node Lease's duration; it is renewed every
	// quarter of it. Default 40, as a kubelet's.
	LeaseDurationSeconds int32
	// StatusUpdateInterval is how often the Node's status is rewritten
	// (the Lease is the heartbeat in between). Default 1m.
	StatusUpdateInterval time.Duration
	// ShutdownGrace is the grace period the pods' processes get when the
	// node stops. Default 5s.
	ShutdownGrace time.Duration
	// PodSyncWorkers is how many pods virtual-kubelet handles at once.
	// Default 10.
	PodSyncWorkers int

	// Log receives the node's logs. Default slog.Default().
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Config == nil {
		return o, errors.New("process node: Options.Config is required")
	}
	if o.APIServer == "" {
		hp, err := hostPort(o.Config.Host)
		if err != nil {
			return o, fmt.Errorf("process node: the API server's address: %w", err)
		}
		o.APIServer = hp
	}
	if o.NodeName == "" {
		o.NodeName = "process-node"
	}
	if o.NodeIP == "" {
		o.NodeIP = "127.0.0.1"
	}
	if _, err := netip.ParseAddr(o.NodeIP); err != nil {
		return o, fmt.Errorf("process node: node IP: %w", err)
	}
	if o.PodIPs == (IPRange{}) {
		o.PodIPs = DefaultPodIPs
	}
	if err := o.PodIPs.Validate(); err != nil {
		return o, fmt.Errorf("process node: pod IPs: %w", err)
	}
	if o.MaxPods == 0 {
		o.MaxPods = 110
	}
	if o.Dir == "" {
		o.Dir = filepath.Join(os.TempDir(), "process-node-"+o.NodeName)
	}
	if o.LeaseDurationSeconds == 0 {
		o.LeaseDurationSeconds = 40
	}
	if o.StatusUpdateInterval == 0 {
		o.StatusUpdateInterval = time.Minute
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = 5 * time.Second
	}
	if o.PodSyncWorkers == 0 {
		o.PodSyncWorkers = 10
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o, nil
}

// thisMachine describes the host for the Node's capacity and info.
func thisMachine() (machine, error) {
	mem, err := podrun.MemTotal()
	if err != nil {
		return machine{}, fmt.Errorf("process node: reading the memory size: %w", err)
	}
	return machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), MemoryBytes: mem}, nil
}

// hostPort turns a rest.Config Host ("https://127.0.0.1:6443", or
// "127.0.0.1:6443") into host:port, the port defaulting to the scheme's.
func hostPort(host string) (string, error) {
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil {
		return "", err
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("no host in %q", host)
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	port := "443"
	if u.Scheme == "http" {
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}
