// Command activator runs Freshet's data plane on Kubernetes: the router
// that takes events (POST /pipelines/<namespace>/<pipeline>/<source>) and
// invocations (POST /functions/<namespace>/<name>), buffers them in a NATS
// JetStream, dispatches them to the ready function replicas found from
// their Pods, and the scaler, which sets each Function's and Vertex's
// replicas through the scale subresource. It watches Functions, Vertices
// and function Pods, and writes each Vertex's backlog to its status.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/freshetproj/freshet/pkg/activator"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "freshet-activator: %v\n", err)
		os.Exit(2)
	}
	handler := slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel})
	log := slog.New(handler)
	slog.SetDefault(log)
	ctrl.SetLogger(logr.FromSlogHandler(handler))
	klog.SetLogger(logr.FromSlogHandler(handler)) // client-go's own messages (watch errors) too
	restConfig, err := kubeConfig(cfg.Kubeconfig)
	if err != nil {
		log.Error("freshet-activator stopped", "error", fmt.Errorf("kubeconfig: %w", err))
		os.Exit(1)
	}
	if err := activator.Run(ctrl.SetupSignalHandler(), cfg.activatorConfig(log), restConfig); err != nil {
		log.Error("freshet-activator stopped", "error", err)
		os.Exit(1)
	}
}

// kubeConfig loads path when it is set, or else finds a configuration the
// usual way ($KUBECONFIG, in-cluster, ~/.kube/config).
func kubeConfig(path string) (*rest.Config, error) {
	if path != "" {
		return clientcmd.BuildConfigFromFlags("", path)
	}
	return ctrl.GetConfig()
}
