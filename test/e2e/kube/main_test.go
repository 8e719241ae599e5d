// Package kube runs Freshet end to end on a real Kubernetes control plane:
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler built
// from the Go module proxy (test/internal/kubecluster), a process node
// (test/processnode) that runs every Pod scheduled to it as local
// processes, and Freshet installed with `kubectl apply -k` from
// config/default. Only the container runtime is not real: images are
// mapped to binaries built here.
//
// TestMain builds everything, starts the cluster and the node, installs
// Freshet and NATS JetStream, and waits until the controller and the
// activator are Ready. Each test works in a namespace of its own.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/test/envtest"
	"github.com/freshetproj/freshet/test/internal/child"
	"github.com/freshetproj/freshet/test/internal/kubecluster"
)

// Images the manifests name, mapped by the process node to what is built
// here (see writeImages).
const (
	controllerImage = "ghcr.io/freshetproj/freshet-controller:dev"
	activatorImage  = "ghcr.io/freshetproj/freshet-activator:dev"
	natsImage       = "nats:2.12-alpine"
	enrichImage     = "ghcr.io/freshetproj/samples/go-enrich:latest"
	classifyImage   = "ghcr.io/freshetproj/samples/python-classify:latest"
	noopImage       = "ghcr.io/freshetproj/test/noopfn:dev"
)

// nodeName is the process node's Node.
const nodeName = "process-node"

// env is what TestMain set up, shared by the tests.
var env struct {
	root      string // the repository root
	dir       string // everything this run writes
	cluster   *kubecluster.Cluster
	client    client.WithWatch
	activator string // base URL of the activator, e.g. http://127.0.0.1:31234
	nodeDir   string // the process node's state: pod logs
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube e2e:", err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (code int, err error) {
	root, err := child.RepoRoot()
	if err != nil {
		return 1, err
	}
	env.root = root
	if env.dir, err = os.MkdirTemp("", "freshet-kube-e2e-"); err != nil {
		return 1, err
	}
	defer func() {
		if code == 0 && err == nil {
			os.RemoveAll(env.dir)
		} else {
			fmt.Fprintf(os.Stderr, "kube e2e: logs kept in %s\n", env.dir)
		}
	}()
	if _, err := exec.LookPath("python3"); err != nil {
		return 1, errors.New("python3 is required (the python-classify sample runs on it) and is not on PATH")
	}
	bins, err := build(root, filepath.Join(env.dir, "bin"))
	if err != nil {
		return 1, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	started := time.Now()
	env.cluster, err = kubecluster.New(ctx, kubecluster.Options{})
	if err != nil {
		return 1, fmt.Errorf("starting the cluster: %w", err)
	}
	defer env.cluster.Stop()
	fmt.Fprintf(os.Stderr, "kube e2e: control plane up in %v\n", time.Since(started).Round(time.Millisecond))

	if env.client, err = client.NewWithWatch(env.cluster.RESTConfig(), client.Options{Scheme: envtest.Scheme()}); err != nil {
		return 1, err
	}

	stopNode, err := startNode(bins)
	if err != nil {
		return 1, err
	}
	defer stopNode()
	if err := install(); err != nil {
		return 1, err
	}
	fmt.Fprintf(os.Stderr, "kube e2e: Freshet installed and ready %v after start\n", time.Since(started).Round(time.Millisecond))
	return m.Run(), nil
}

// binaries are the programs the process node runs in place of images.
type binaries struct {
	controller, activator, node, nats, enrich, noop string
}

// build compiles the binaries into dir, in one go invocation so that
// compiling and linking overlap; go names each after its package.
func build(root, dir string) (binaries, error) {
	b := binaries{
		controller: filepath.Join(dir, "controller"),
		activator:  filepath.Join(dir, "activator"),
		node:       filepath.Join(dir, "processnode"),
		nats:       filepath.Join(dir, "nats-server"),
		enrich:     filepath.Join(dir, "go-enrich"),
		noop:       filepath.Join(dir, "noopfn"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return b, err
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"./cmd/controller", "./cmd/activator", "./test/processnode",
		// The NATS server the activator's client library comes with: a
		// main package at the module root, so no extra dependency.
		"github.com/nats-io/nats-server/v2",
		"./samples/functions/go-enrich", "./test/bench/noopfn")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return b, fmt.Errorf("go build: %v\n%s", err, out)
	}
	return b, nil
}

// startNode writes the image map and starts the process node; the
// returned func stops it (SIGTERM, so it stops its pods) and waits.
func startNode(b binaries) (func(), error) {
	images := map[string]map[string]any{
		controllerImage: {"entrypoint": []string{b.controller}},
		activatorImage:  {"entrypoint": []string{b.activator}},
		natsImage:       {"entrypoint": []string{b.nats}},
		enrichImage:     {"entrypoint": []string{b.enrich}},
		classifyImage:   {"entrypoint": []string{"python3", filepath.Join(env.root, "samples/functions/python-classify/main.py")}},
		noopImage:       {"entrypoint": []string{b.noop}},
	}
	data, err := json.MarshalIndent(images, "", "  ")
	if err != nil {
		return nil, err
	}
	imagesFile := filepath.Join(env.dir, "images.json")
	if err := os.WriteFile(imagesFile, data, 0o644); err != nil {
		return nil, err
	}
	env.nodeDir = filepath.Join(env.dir, "node")
	logPath := filepath.Join(env.dir, "processnode.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.node,
		"--kubeconfig", env.cluster.Kubeconfig,
		"--node-name", nodeName,
		"--dir", env.nodeDir,
		"--images", imagesFile,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	p, err := child.StartProcess(cmd)
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting the process node: %w", err)
	}
	stop := func() {
		// SIGTERM stops every Pod (their processes) before the node exits.
		p.Stop(90 * time.Second)
		logFile.Close()
	}
	// The node is up when its Node is Ready.
	err = await(2*time.Minute, "the process node's Node to be Ready", func() (bool, error) {
		if exited, err := p.Exited(); exited {
			return false, fmt.Errorf("the process node exited (%v):\n%s", err, child.TailFile(logPath, 40))
		}
		out, _ := kubectlOut("get", "node", nodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return strings.TrimSpace(out) == "True", nil
	})
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// kubectlOut runs the cluster's kubectl and returns its combined output.
func kubectlOut(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return env.cluster.Kubectl(ctx, args...)
}

// await calls cond until it returns true or an error, or within passes:
// poll.Until for TestMain, which has no t.
func await(within time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}
