// Command controller runs Freshet's Kubernetes controller: the reconcilers
// for Functions, Pipelines and Vertices in one controller-runtime manager,
// with leader election, metrics and health probes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/function"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline"
	"github.com/freshetproj/freshet/pkg/reconciler/vertex"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "freshet-controller: %v\n", err)
		os.Exit(2)
	}
	log := logr.FromSlogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctrl.SetLogger(log)
	klog.SetLogger(log) // client-go's own messages (watch errors, leader election) too
	if err := run(ctrl.SetupSignalHandler(), cfg); err != nil {
		ctrl.Log.Error(err, "freshet-controller stopped")
		os.Exit(1)
	}
}

// reconciler is what each of Freshet's reconcilers offers the manager.
type reconciler interface {
	SetupWithManager(ctrl.Manager) error
}

// run builds the manager, registers the reconcilers and probes, and runs
// until ctx ends.
func run(ctx context.Context, cfg Config) error {
	restConfig, err := kubeConfig(cfg.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: cfg.MetricsAddr},
		HealthProbeBindAddress:  cfg.HealthProbeAddr,
		LeaderElection:          cfg.LeaderElect,
		LeaderElectionID:        cfg.LeaderElectionID,
		LeaderElectionNamespace: cfg.LeaderElectionNamespace,
		// main exits as soon as the manager stops, so handing the Lease
		// over at once is safe and spares the next leader the wait.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	c := mgr.GetClient()
	for name, r := range map[string]reconciler{
		"function": &function.Reconciler{Client: c, ActivatorURL: cfg.ActivatorURL},
		"pipeline": &pipeline.Reconciler{Client: c},
		"vertex":   &vertex.Reconciler{Client: c},
	} {
		if err := r.SetupWithManager(mgr); err != nil {
			return fmt.Errorf("%s reconciler: %w", name, err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// kubeConfig loads path when it is set, or else finds a configuration the
// usual way ($KUBECONFIG, in-cluster, ~/.kube/config).
func kubeConfig(path string) (*rest.Config, error) {
	if path != "" {
		return clientcmd.BuildConfigFromFlags("", path)
	}
	return ctrl.GetConfig()
}
