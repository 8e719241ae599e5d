// Command processnode is a Kubernetes node that runs every Pod bound to it
// as local processes. It is test and development infrastructure: Freshet's
// end-to-end tests run it next to a local control plane, and it lets you
// try Freshet's Kubernetes path on a laptop. See usage below and package
// github.com/freshetproj/freshet/test/processnode/node.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"

	"github.com/freshetproj/freshet/test/processnode/node"
	"github.com/freshetproj/freshet/test/processnode/podrun"
)

const usage = `Usage: processnode [flags]

processnode registers a Node with a Kubernetes API server and runs each Pod
scheduled to it as local processes: every container's command and args run
directly on this machine, with the program that --images maps its image to.

THIS IS TEST AND DEVELOPMENT INFRASTRUCTURE. Nothing is pulled and nothing is
isolated beyond a network and a mount namespace per pod: containers run as
the user running processnode (it needs root for the namespaces) and see this
machine's files. Each pod gets a loopback IP of its own (127.0.x.y, or the
node's IP with hostNetwork), reported as its pod IP; readiness probes,
restarts and deletion with grace periods work as on a kubelet. kubectl logs
and exec do not: the containers' logs are files under --dir.

The images file (YAML or JSON) maps image references to programs:

  ghcr.io/freshetproj/controller:dev:
    entrypoint: [/home/me/freshet/bin/controller]
  example.com/echo:1:
    entrypoint: [/usr/local/bin/echo-server]
    cmd: [--verbose]
    workingDir: /tmp
    env: [MODE=test]

A container whose image is not mapped stays waiting with ErrImagePull.

Flags:
`

// config is everything the command line says.
type config struct {
	kubeconfig string
	images     string
	logLevel   slog.Level
	node       node.Options
}

func parseFlags(args []string, getenv func(string) string, out io.Writer) (config, error) {
	c := config{}
	fs := flag.NewFlagSet("processnode", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.kubeconfig, "kubeconfig", getenv("KUBECONFIG"), "kubeconfig of the API server to join (default $KUBECONFIG)")
	fs.StringVar(&c.node.NodeName, "node-name", "process-node", "name of the Node")
	fs.StringVar(&c.node.NodeIP, "node-ip", "127.0.0.1", "the Node's InternalIP, also hostNetwork pods' IP")
	fs.StringVar(&c.node.Dir, "dir", "", "state directory for the pods' files and logs (default $TMPDIR/process-node-<node-name>)")
	fs.StringVar(&c.images, "images", "", "YAML or JSON file mapping image references to programs (see above)")
	podIPs := fs.String("pod-ips", node.DefaultPodIPs.String(), "inclusive range of loopback IPs for pods; .0 and .255 are skipped")
	fs.IntVar(&c.node.MaxPods, "max-pods", 110, "the Node's pod capacity")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.kubeconfig == "" {
		return c, errors.New("--kubeconfig (or $KUBECONFIG) is required")
	}
	r, err := node.ParseIPRange(*podIPs)
	if err != nil {
		return c, fmt.Errorf("--pod-ips: %w", err)
	}
	c.node.PodIPs = r
	return c, nil
}

// readImages reads the --images file.
func readImages(path string) (map[string]podrun.Image, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--images: %w", err)
	}
	var images map[string]podrun.Image
	if err := yaml.UnmarshalStrict(data, &images); err != nil {
		return nil, fmt.Errorf("--images %s: %w", path, err)
	}
	return images, nil
}

func main() {
	// podrun re-executes this binary as each pod's mount-namespace shim.
	podrun.MaybeShim()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	c, err := parseFlags(args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "processnode: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: c.logLevel}))
	klog.SetSlogLogger(log.With("component", "client-go"))

	if c.node.Images, err = readImages(c.images); err != nil {
		log.Error("processnode: reading images", "err", err)
		return 2
	}
	if c.node.Config, err = clientcmd.BuildConfigFromFlags("", c.kubeconfig); err != nil {
		log.Error("processnode: reading the kubeconfig", "path", c.kubeconfig, "err", err)
		return 2
	}
	if c.node.Dir != "" {
		if c.node.Dir, err = filepath.Abs(c.node.Dir); err != nil {
			log.Error("processnode: --dir", "err", err)
			return 2
		}
	}
	c.node.Log = log

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := node.Run(ctx, c.node); err != nil {
		log.Error("processnode failed", "err", err)
		return 1
	}
	log.Info("processnode stopped")
	return 0
}
