package podrun

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Probe defaults, as the API server sets them.
const (
	defaultPeriod           = 10 * time.Second
	defaultTimeout          = time.Second
	defaultFailureThreshold = 3
	defaultGrace            = 30 * time.Second
)

// thresholds turns single probe results into a container's state like the
// kubelet's prober: a result counts once it repeated successThreshold
// (success) or failureThreshold (failure) times in a row.
type thresholds struct {
	success, failure int32
	last             int // 0 none yet, 1 success, -1 failure
	run              int32
}

func newThresholds(pr *corev1.Probe) *thresholds {
	t := &thresholds{success: pr.SuccessThreshold, failure: pr.FailureThreshold}
	if t.success <= 0 {
		t.success = 1
	}
	if t.failure <= 0 {
		t.failure = defaultFailureThreshold
	}
	return t
}

// observe records one result and reports whether it now determines the
// state (the state then being ok).
func (t *thresholds) observe(ok bool) bool {
	r := -1
	if ok {
		r = 1
	}
	if r == t.last {
		t.run++
	} else {
		t.last, t.run = r, 1
	}
	if ok {
		return t.run >= t.success
	}
	return t.run >= t.failure
}

// probe runs the container's startup, liveness and readiness probes until
// ctx ends (the process exited). A failed startup or liveness probe
// terminates the process, which the runner then restarts per policy.
func (r *containerRunner) probe(ctx context.Context, proc *process, l launch) {
	c := r.c
	started := make(chan struct{})
	done := make(chan struct{}, 3)
	workers := 0
	kill := func(pr *corev1.Probe, what string) {
		grace := defaultGrace
		if s := r.p.pod.Spec.TerminationGracePeriodSeconds; s != nil {
			grace = time.Duration(*s) * time.Second
		}
		if pr.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*pr.TerminationGracePeriodSeconds) * time.Second
		}
		r.p.log.Info("container failed its "+what+" probe, restarting", "container", c.Name)
		proc.terminate(grace, r.p.ctx.Done())
	}
	// loop runs pr after its initial delay and then every period until f
	// returns false.
	loop := func(pr *corev1.Probe, f func(ok bool) bool) {
		defer func() { done <- struct{}{} }()
		delay := time.Until(proc.startedAt.Add(time.Duration(pr.InitialDelaySeconds) * time.Second))
		if !sleep(ctx, max(delay, 0)) {
			return
		}
		period := defaultPeriod
		if pr.PeriodSeconds > 0 {
			period = time.Duration(pr.PeriodSeconds) * time.Second
		}
		for {
			err := r.probeOnce(ctx, pr, l)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				r.p.log.Debug("probe failed", "container", c.Name, "err", err)
			}
			if !f(err == nil) || !sleep(ctx, period) {
				return
			}
		}
	}
	if pr := c.StartupProbe; pr != nil {
		workers++
		t := newThresholds(pr)
		t.success = 1 // the API requires 1 for startup probes
		go loop(pr, func(ok bool) bool {
			if !t.observe(ok) {
				return true
			}
			if !ok {
				kill(pr, "startup")
				return false
			}
			r.set(func(cs *corev1.ContainerStatus) {
				cs.Started = new(true)
				cs.Ready = c.ReadinessProbe == nil
			})
			close(started)
			return false
		})
	} else {
		close(started)
	}
	afterStart := func(pr *corev1.Probe, f func(ok bool) bool) {
		workers++
		go func() {
			select {
			case <-started:
				loop(pr, f)
			case <-ctx.Done():
				done <- struct{}{}
			}
		}()
	}
	if pr := c.LivenessProbe; pr != nil {
		t := newThresholds(pr)
		t.success = 1 // the API requires 1 for liveness probes
		afterStart(pr, func(ok bool) bool {
			if t.observe(ok) && !ok {
				kill(pr, "liveness")
				return false
			}
			return true
		})
	}
	if pr := c.ReadinessProbe; pr != nil {
		t := newThresholds(pr)
		afterStart(pr, func(ok bool) bool {
			if t.observe(ok) {
				r.set(func(cs *corev1.ContainerStatus) {
					if cs.State.Running != nil {
						cs.Ready = ok
					}
				})
			}
			return true
		})
	}
	for range workers {
		<-done
	}
}

// probeOnce runs a probe once; nil is success.
func (r *containerRunner) probeOnce(ctx context.Context, pr *corev1.Probe, l launch) error {
	timeout := defaultTimeout
	if pr.TimeoutSeconds > 0 {
		timeout = time.Duration(pr.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case pr.HTTPGet != nil:
		return r.httpProbe(ctx, pr.HTTPGet)
	case pr.TCPSocket != nil:
		port, err := probePort(pr.TCPSocket.Port, r.c)
		if err != nil {
			return err
		}
		conn, err := r.dial(ctx, pr.TCPSocket.Host, port)
		if err != nil {
			return err
		}
		return conn.Close()
	case pr.Exec != nil:
		return r.execProbe(ctx, pr.Exec, l)
	}
	return nil // gRPC: not run, see the package documentation
}

// dial connects to host:port for a probe. The Pod's own IP (also when host
// is empty) is dialed inside its network namespace, not through the
// forwarder, which would accept even when nothing listens.
func (r *containerRunner) dial(ctx context.Context, host string, port int) (net.Conn, error) {
	if host == "" || host == r.p.podIP {
		return r.p.sb.dial(ctx, port)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
}

func (r *containerRunner) httpProbe(ctx context.Context, g *corev1.HTTPGetAction) error {
	port, err := probePort(g.Port, r.c)
	if err != nil {
		return err
	}
	host := g.Host
	if host == "" {
		host = r.p.podIP
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	u, err = u.Parse(path)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/1.35")
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return r.dial(ctx, g.Host, port)
		},
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // the kubelet does not verify either
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// A redirect answers the probe: 3xx counts as success, like the
		// kubelet does for redirects to another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	}
	return nil
}

// execProbe runs the command in the container's mounts, network and
// environment; exit 0 is success. $(VAR) refers to the container's literal
// env values only, as in the kubelet.
func (r *containerRunner) execProbe(ctx context.Context, e *corev1.ExecAction, l launch) error {
	vars := map[string]string{}
	for _, ev := range r.c.Env {
		vars[ev.Name] = ev.Value
	}
	argv := make([]string, len(e.Command))
	for i, s := range e.Command {
		argv[i] = expand(s, vars)
	}
	if len(argv) == 0 {
		return fmt.Errorf("exec probe without command")
	}
	pl := l
	pl.argv = argv
	pl.logPath = "" // the same mounts: the container's spec file serves
	proc, err := startProcess(r.p.sb, r.p.cfg.Shim, pl)
	if err != nil {
		return err
	}
	select {
	case <-proc.done:
	case <-ctx.Done():
		proc.signal(syscall.SIGKILL)
		<-proc.done
		return fmt.Errorf("exec probe %v: %w", argv, ctx.Err())
	}
	if code := exitCode(proc.state); code != 0 {
		return fmt.Errorf("exec probe %v: exit code %d", argv, code)
	}
	return nil
}

// probePort resolves a probe's port: a number, or the name of one of the
// container's ports.
func probePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		if port.IntVal <= 0 || port.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port %d", port.IntVal)
		}
		return int(port.IntVal), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("no port named %q in container %s", port.StrVal, c.Name)
}
