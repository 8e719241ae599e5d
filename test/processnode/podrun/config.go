package podrun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Cluster gives what a Pod's spec refers to outside itself.
type Cluster interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	// Token returns a service-account token for pod (TokenRequest bound to the pod).
	Token(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) (string, error)
}

// Image is what an image reference runs on this node: the local stand-in for
// an OCI image config.
type Image struct {
	// Entrypoint is like the image's ENTRYPOINT; [0] is absolute, or looked up
	// in the PATH of the container's environment.
	Entrypoint []string `json:"entrypoint"`
	// Cmd is like the image's CMD: the default arguments.
	Cmd []string `json:"cmd,omitempty"`
	// WorkingDir is the default working directory; "/" when empty.
	WorkingDir string `json:"workingDir,omitempty"`
	// Env is NAME=value pairs, like the image config's Env; the container's
	// own environment overrides them.
	Env []string `json:"env,omitempty"`
}

// Config is what every Pod on the node shares.
type Config struct {
	// Images maps image references to what they run. A container's image is
	// looked up exactly, then without its digest ("@sha256:…"), then without
	// its tag as well: "ghcr.io/x/ctl:v1@sha256:ab" finds a key
	// "ghcr.io/x/ctl:v1@sha256:ab", "ghcr.io/x/ctl:v1" or "ghcr.io/x/ctl".
	Images map[string]Image
	// Dir is the state directory; each Pod gets Dir/<namespace>_<name>_<uid>/.
	Dir string
	// NodeName is the node's name (spec.nodeName of its Pods).
	NodeName string
	// NodeIP is the node's IP (e.g. 127.0.0.1): the hostIP of every Pod and
	// the podIP of hostNetwork Pods.
	NodeIP string
	// APIServer is host:port of the API server, given to containers as
	// KUBERNETES_SERVICE_HOST/PORT.
	APIServer string
	// Cluster resolves ConfigMaps, Secrets and tokens.
	Cluster Cluster
	// Shim is the argv prefix that runs the mount shim; default
	// {os.Executable(), ShimArg}. A node running many Pods resolves it once
	// with ResolveShim, so that Run does not.
	Shim []string
	// RestartBackoff is the first restart delay, doubling per consecutive
	// restart up to MaxRestartBackoff; defaults 1s and 30s.
	RestartBackoff, MaxRestartBackoff time.Duration
	// Allocatable is what resourceFieldRef reports as limits.cpu / limits.memory
	// of a container without such limits, like a kubelet's node allocatable.
	// Default: the machine's CPUs and MemTotal, read for every Pod; a node
	// running many Pods sets it once.
	Allocatable corev1.ResourceList
	// OnChange is called whenever a Pod's Status may have changed. It must
	// not block long and may be called from several goroutines. May be nil.
	OnChange func()
	// Log receives what happens to Pods and containers; nil discards.
	Log *slog.Logger
}

// withDefaults returns a copy of c with defaults filled in.
func (c *Config) withDefaults() (*Config, error) {
	d := *c
	if d.Dir == "" {
		return nil, fmt.Errorf("podrun: Config.Dir is required")
	}
	if d.NodeIP == "" {
		return nil, fmt.Errorf("podrun: Config.NodeIP is required")
	}
	if d.Cluster == nil {
		return nil, fmt.Errorf("podrun: Config.Cluster is required")
	}
	shim, err := ResolveShim(d.Shim)
	if err != nil {
		return nil, err
	}
	d.Shim = shim
	if d.RestartBackoff <= 0 {
		d.RestartBackoff = time.Second
	}
	if d.MaxRestartBackoff <= 0 {
		d.MaxRestartBackoff = 30 * time.Second
	}
	if d.MaxRestartBackoff < d.RestartBackoff {
		d.MaxRestartBackoff = d.RestartBackoff
	}
	if d.Allocatable == nil {
		d.Allocatable = machineAllocatable()
	}
	if d.OnChange == nil {
		d.OnChange = func() {}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &d, nil
}

// lookupImage finds ref in images: exactly, then without digest, then
// without tag.
func lookupImage(images map[string]Image, ref string) (Image, bool) {
	if img, ok := images[ref]; ok {
		return img, true
	}
	name := ref
	if i := strings.Index(name, "@"); i >= 0 {
		name = name[:i]
		if img, ok := images[name]; ok {
			return img, true
		}
	}
	// A tag is a ':' after the last '/'; a ':' before it is a registry port.
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		if img, ok := images[name[:i]]; ok {
			return img, true
		}
	}
	return Image{}, false
}

// ResolveShim returns shim with its program as an absolute path, looked up
// in $PATH if it has no '/'; an empty shim means this binary:
// {os.Executable(), ShimArg}.
func ResolveShim(shim []string) ([]string, error) {
	if len(shim) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("podrun: finding the shim binary: %w", err)
		}
		return []string{exe, ShimArg}, nil
	}
	if strings.Contains(shim[0], "/") {
		return shim, nil
	}
	p, err := exec.LookPath(shim[0])
	if err != nil {
		return nil, fmt.Errorf("podrun: shim: %w", err)
	}
	return append([]string{p}, shim[1:]...), nil
}

// machineAllocatable is this machine's CPUs and memory (no memory if
// /proc/meminfo cannot be read).
func machineAllocatable() corev1.ResourceList {
	rl := corev1.ResourceList{
		corev1.ResourceCPU: *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
	}
	if mem, err := MemTotal(); err == nil {
		rl[corev1.ResourceMemory] = *resource.NewQuantity(mem, resource.BinarySI)
	}
	return rl
}

// MemTotal is this machine's memory in bytes: MemTotal of /proc/meminfo.
func MemTotal() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseMemTotal(f)
}

// parseMemTotal reads MemTotal from /proc/meminfo's format, in bytes.
func parseMemTotal(meminfo io.Reader) (int64, error) {
	sc := bufio.NewScanner(meminfo)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("meminfo: unexpected MemTotal line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("meminfo: MemTotal: %w", err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("meminfo: no MemTotal line")
}
