package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/freshetproj/freshet/pkg/dev"
	"github.com/freshetproj/freshet/pkg/manifest"
	"github.com/freshetproj/freshet/pkg/router"
)

// files is a repeatable -f flag.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("freshet dev", flag.ContinueOnError)
	var paths files
	fs.Var(&paths, "f", "a YAML file or directory of Functions and Pipelines (repeatable)")
	var cfg dev.Config
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address the router listens on")
	fs.StringVar(&cfg.DataDir, "data-dir", ".freshet", "directory of the embedded buffer; restarting on it resumes unfinished events")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "use this NATS JetStream server instead of the embedded one")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", router.DefaultMaxBodyBytes, "largest accepted request body, in bytes")
	fs.DurationVar(&cfg.Grace, "grace", 30*time.Second, "how long shutdown waits for in-flight work at each step")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	paths = append(paths, fs.Args()...)
	if len(paths) == 0 {
		return errors.New("dev: name at least one file or directory with -f")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("dev: -log-level: %w", err)
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	set, err := manifest.Load(paths...)
	if err != nil {
		return err
	}
	res, err := resources(set)
	if err != nil {
		return err
	}
	cfg.Listening = func(base string) { printURLs(base, res) }
	return dev.Run(ctx, cfg, res)
}

// printURLs tells the user where to send events (on stderr: stdout carries
// the log sinks' events).
func printURLs(base string, res dev.Resources) {
	var b strings.Builder
	fmt.Fprintf(&b, "freshet dev is listening on %s\n", base)
	for _, v := range res.Vertices {
		if v.Spec.Source != nil && v.Spec.Source.HTTP != nil {
			fmt.Fprintf(&b, "  pipeline %s/%s, source %s:  POST %s/pipelines/%s/%s/%s\n", v.Namespace, v.Spec.PipelineName, v.Spec.Name, base, v.Namespace, v.Spec.PipelineName, v.Spec.Name)
		}
	}
	for _, f := range res.Functions {
		fmt.Fprintf(&b, "  function %s/%s:  POST %s/functions/%s/%s\n", f.Namespace, f.Name, base, f.Namespace, f.Name)
	}
	fmt.Fprintf(&b, "  metrics:  GET %s/metrics\n", base)
	fmt.Fprint(os.Stderr, b.String())
}

// resources turns the loaded files into what freshet dev runs.
func resources(set *manifest.Set) (dev.Resources, error) {
	var res dev.Resources
	for _, f := range set.Functions {
		res.Functions = append(res.Functions, f.Object)
	}
	vertices, err := set.Vertices()
	if err != nil {
		return res, err
	}
	res.Vertices = vertices
	return res, nil
}
