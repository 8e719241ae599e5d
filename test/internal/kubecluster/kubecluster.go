// Package kubecluster runs a real, local Kubernetes control plane for tests:
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler as child
// processes on 127.0.0.1, so Deployments get ReplicaSets and Pods, Pods get
// scheduled onto Nodes, namespaces get their ServiceAccount and
// kube-root-ca.crt and are really deleted. There is no kubelet: Nodes are
// whatever the test registers, and Pods bound to them run only if the test
// runs them.
//
// The API server serves TLS with a certificate from a CA generated per
// cluster, authenticates an admin by a static token (group system:masters),
// authorizes with Node,RBAC, signs service-account tokens with a generated
// key, and keeps the default admission plugins, so Pods get the
// kube-api-access projected volume as on any cluster. The controller
// manager runs only Controllers.
//
// The binaries come from KUBEBUILDER_ASSETS when it holds all of Binaries,
// or else from hack/test-binaries.sh, which builds them from the Go module
// proxy once and caches them (the first build takes several minutes). If
// they cannot be had, starting fails saying why.
//
// Starting takes a few seconds, so a test package shares one cluster:
//
//	var cluster *kubecluster.Cluster
//
//	func TestMain(m *testing.M) {
//		c, err := kubecluster.New(context.Background(), kubecluster.Options{})
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		if err := c.Stop(); err != nil { ... }
//		os.Exit(code)
//	}
//
// or a test starts its own with Start(t, Options{}).
package kubecluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/freshetproj/freshet/test/internal/child"
)

// AdminUser is the user the admin token authenticates as.
const AdminUser = "admin"

// Options configure New. The zero value is a working cluster.
type Options struct {
	// NodeMonitorGracePeriod is how long a Node may go without a heartbeat
	// (a status update or a renewal of its Lease) before the
	// node-lifecycle controller marks it NotReady and taints it. Zero
	// means 40s.
	NodeMonitorGracePeriod time.Duration
	// StartTimeout bounds starting the control plane, not counting a build
	// of the binaries. Zero means 2 minutes (2 busy cores can be slow).
	StartTimeout time.Duration
	// APIServerArgs, ControllerManagerArgs and SchedulerArgs are extra
	// flags ("--name=value"), passed after the package's own. A later
	// scalar flag overrides an earlier one; a repeated list flag such as
	// --controllers adds to it.
	APIServerArgs, ControllerManagerArgs, SchedulerArgs []string
}

func (o Options) withDefaults() Options {
	if o.NodeMonitorGracePeriod == 0 {
		o.NodeMonitorGracePeriod = 40 * time.Second
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 2 * time.Minute
	}
	return o
}

// Cluster is a running control plane.
type Cluster struct {
	// Dir holds the cluster's files: pki/, kubeconfig, etcd/ (data) and
	// logs/ (one <component>.log each, and kubecluster.log with this
	// package's own notes). Stop removes it.
	Dir string
	// Kubeconfig is the path of an admin kubeconfig file.
	Kubeconfig string
	// Server is the API server's URL, https://127.0.0.1:<port>.
	Server string
	// CAPEM is the CA certificate (PEM) the API server's serving
	// certificate is signed by.
	CAPEM []byte
	// Token is the admin's bearer token (group system:masters).
	Token string
	// BinDir holds the binaries; KubectlPath is the kubectl among them.
	BinDir      string
	KubectlPath string

	opts       Options
	layout     layout
	components []*component // in start order
	stopOnce   sync.Once
	stopErr    error
}

// New starts a cluster; call Stop when done. ctx bounds the start only.
// On failure the returned error names the component and ends with its
// log; the files, logs included, are kept in the directory it names.
func New(ctx context.Context, opts Options) (*Cluster, error) {
	opts = opts.withDefaults()
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "freshet-kubecluster-")
	if err != nil {
		return nil, fmt.Errorf("kubecluster: %w", err)
	}
	c := &Cluster{
		Dir:         dir,
		BinDir:      bin,
		KubectlPath: filepath.Join(bin, "kubectl"),
		opts:        opts,
		layout:      layout{dir: dir},
	}
	if err := c.writeFiles(); err != nil {
		return nil, fmt.Errorf("kubecluster: writing the cluster's files to %s: %w", dir, err)
	}
	notes, err := os.OpenFile(c.layout.logFile("kubecluster"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kubecluster: %w", err)
	}
	defer notes.Close()

	ctx, cancel := context.WithTimeoutCause(ctx, opts.StartTimeout,
		fmt.Errorf("the control plane did not start within %v (Options.StartTimeout)", opts.StartTimeout))
	defer cancel()
	began := time.Now()
	if _, err := child.Retry(notes, 3, func() (struct{}, error) { return struct{}{}, c.startOnce(ctx, notes) }); err != nil {
		return nil, fmt.Errorf("%w\n(the cluster's files and logs are kept in %s)", err, dir)
	}
	fmt.Fprintf(notes, "=== freshet: control plane ready after %v at %s ===\n", time.Since(began).Round(time.Millisecond), c.Server)
	return c, nil
}

// Start starts a cluster for t and stops it when t ends; if t failed, the
// logs are kept and their directory is logged. It fails t if the cluster
// cannot start.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			err = c.StopKeepLogs()
			t.Logf("kubecluster: control-plane logs kept in %s", filepath.Join(c.Dir, "logs"))
		} else {
			err = c.Stop()
		}
		if err != nil {
			t.Errorf("kubecluster: stop: %v", err)
		}
	})
	return c
}

// writeFiles writes what does not depend on the ports: keys and
// certificates, the token file, and the directories.
func (c *Cluster) writeFiles() error {
	l := c.layout
	for _, d := range []string{l.path("pki"), l.path("logs"), l.path("certs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	p, err := newPKI(time.Now())
	if err != nil {
		return err
	}
	var tok [32]byte
	_, _ = rand.Read(tok[:])
	c.Token = hex.EncodeToString(tok[:])
	c.CAPEM = p.caCert
	for path, data := range map[string][]byte{
		l.caFile():          p.caCert,
		l.servingCertFile(): p.servingCert,
		l.servingKeyFile():  p.servingKey,
		l.saKeyFile():       p.saKey,
		l.saPubFile():       p.saPub,
		l.tokenFile():       []byte(tokenFileLine(c.Token)),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// startOnce starts the components in order on fresh ports, each once the
// one it depends on is healthy. If one fails, it stops those it started.
func (c *Cluster) startOnce(ctx context.Context, notes *os.File) (err error) {
	ports, err := child.FreePorts(5)
	if err != nil {
		return fmt.Errorf("kubecluster: choosing ports: %w", err)
	}
	l := layout{dir: c.Dir, etcdClientPort: ports[0], etcdPeerPort: ports[1],
		apiServerPort: ports[2], kcmPort: ports[3], schedulerPort: ports[4]}
	c.layout, c.Server, c.Kubeconfig = l, l.server(), l.kubeconfig()
	c.components = nil
	defer func() {
		if err == nil {
			return
		}
		taken := false
		for _, comp := range c.components {
			taken = taken || comp.portTaken()
		}
		c.stopComponents()
		if taken {
			err = &child.PortTaken{Err: err}
		}
	}()
	if err := os.RemoveAll(l.etcdDataDir()); err != nil { // left by a failed attempt
		return fmt.Errorf("kubecluster: %w", err)
	}
	if err := c.writeKubeconfig(); err != nil {
		return fmt.Errorf("kubecluster: writing %s: %w", c.Kubeconfig, err)
	}
	hc, err := c.healthClient()
	if err != nil {
		return err
	}
	began := time.Now()
	start := func(name string, args, extra []string) (*component, error) {
		comp, err := startComponent(name, filepath.Join(c.BinDir, name), l.logFile(name), append(args, extra...))
		if err != nil {
			return nil, err
		}
		c.components = append(c.components, comp)
		return comp, nil
	}
	healthy := func(comp *component, url string, header http.Header) error {
		if err := comp.waitHealthy(ctx, hc, url, header); err != nil {
			return comp.failure(err)
		}
		fmt.Fprintf(notes, "=== freshet: %s healthy after %v ===\n", comp.name, time.Since(began).Round(time.Millisecond))
		return nil
	}

	etcd, err := start(Etcd, etcdArgs(l), nil)
	if err != nil {
		return err
	}
	if err := healthy(etcd, l.etcdURL()+"/health", nil); err != nil {
		return err
	}
	api, err := start(APIServer, apiServerArgs(l), c.opts.APIServerArgs)
	if err != nil {
		return err
	}
	if err := healthy(api, l.server()+"/readyz", http.Header{"Authorization": {"Bearer " + c.Token}}); err != nil {
		return err
	}
	kcm, err := start(ControllerManager, controllerManagerArgs(l, c.opts.NodeMonitorGracePeriod), c.opts.ControllerManagerArgs)
	if err != nil {
		return err
	}
	sched, err := start(Scheduler, schedulerArgs(l), c.opts.SchedulerArgs)
	if err != nil {
		return err
	}
	if err := healthy(kcm, "https://127.0.0.1:"+strconv.Itoa(l.kcmPort)+"/healthz", nil); err != nil {
		return err
	}
	if err := healthy(sched, "https://127.0.0.1:"+strconv.Itoa(l.schedulerPort)+"/healthz", nil); err != nil {
		return err
	}
	if err := c.waitSettled(ctx, kcm); err != nil {
		return kcm.failure(err)
	}
	fmt.Fprintf(notes, "=== freshet: the default namespace is set up after %v ===\n", time.Since(began).Round(time.Millisecond))
	return nil
}

// healthClient trusts the cluster's CA, which signed the serving
// certificate of all three Kubernetes components.
func (c *Cluster) healthClient() (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CAPEM) {
		return nil, errors.New("kubecluster: the generated CA certificate does not parse")
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		DisableKeepAlives: true,
	}}, nil
}

// waitSettled waits until the controller manager has given the default
// namespace its ServiceAccount and kube-root-ca.crt: then the controllers
// are running and a Pod created right away is admitted.
func (c *Cluster) waitSettled(ctx context.Context, kcm *component) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			_, err = cs.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		}
		switch {
		case err == nil:
			return nil
		case !apierrors.IsNotFound(err) && ctx.Err() == nil:
			return fmt.Errorf("reading the default namespace: %w", err)
		}
		select {
		case <-kcm.proc.Done():
			return kcm.exited()
		case <-ctx.Done():
			return fmt.Errorf("the default namespace has no ServiceAccount default or ConfigMap kube-root-ca.crt yet (the serviceaccount and root-ca-certificate-publisher controllers make them): %w", context.Cause(ctx))
		case <-tick.C:
		}
	}
}

func (c *Cluster) writeKubeconfig() error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubecluster"] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthorityData: c.CAPEM}
	cfg.AuthInfos[AdminUser] = &clientcmdapi.AuthInfo{Token: c.Token}
	cfg.Contexts["kubecluster"] = &clientcmdapi.Context{Cluster: "kubecluster", AuthInfo: AdminUser, Namespace: "default"}
	cfg.CurrentContext = "kubecluster"
	return clientcmd.WriteToFile(*cfg, c.Kubeconfig)
}

// RESTConfig returns a new config reaching the API server as the admin.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            c.Server,
		BearerToken:     c.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CAPEM},
		QPS:             1000,
		Burst:           2000,
	}
}

// KubectlCmd returns an exec.Cmd running kubectl against the cluster with
// args, for callers that need standard input or their own handling.
func (c *Cluster) KubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	return child.KubectlCmd(ctx, c.KubectlPath, c.Kubeconfig, c.Dir, args...)
}

// Kubectl runs kubectl against the cluster and returns its combined
// output; the error includes it too.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	out, err := c.KubectlCmd(ctx, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %v: %w\n%s", args, err, out)
	}
	return string(out), nil
}

// LogPath is the log file of a component (Etcd, APIServer,
// ControllerManager or Scheduler).
func (c *Cluster) LogPath(component string) string { return c.layout.logFile(component) }

// Check returns an error, with the end of its log, if a component has
// exited; tests can call it when something times out, to tell a dead
// control plane from a slow one.
func (c *Cluster) Check() error {
	var errs []error
	for _, comp := range c.components {
		if err := comp.exited(); err != nil {
			errs = append(errs, comp.failure(err))
		}
	}
	return errors.Join(errs...)
}

// Stop stops the components (SIGTERM, then SIGKILL after a grace period)
// and removes Dir. It is safe to call more than once.
func (c *Cluster) Stop() error { return c.stop(false) }

// StopKeepLogs is Stop, but keeps Dir/logs for a post-mortem.
func (c *Cluster) StopKeepLogs() error { return c.stop(true) }

func (c *Cluster) stop(keepLogs bool) error {
	c.stopOnce.Do(func() {
		c.stopComponents()
		if !keepLogs {
			c.stopErr = os.RemoveAll(c.Dir)
			return
		}
		entries, err := os.ReadDir(c.Dir)
		if err != nil {
			c.stopErr = err
			return
		}
		for _, e := range entries {
			if e.Name() != "logs" {
				c.stopErr = errors.Join(c.stopErr, os.RemoveAll(filepath.Join(c.Dir, e.Name())))
			}
		}
	})
	return c.stopErr
}

// stopComponents stops the components in reverse start order, so none
// outlives one it depends on.
func (c *Cluster) stopComponents() {
	for i := len(c.components) - 1; i >= 0; i-- {
		c.components[i].stop(15 * time.Second)
	}
	c.components = nil
}
