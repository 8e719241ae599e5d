package podrun

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Pod is one Pod running as local processes.
type Pod struct {
	cfg   *Config
	pod   *corev1.Pod // a copy, never modified
	podIP string
	dir   string
	log   *slog.Logger
	sb    sandbox
	fwd   *forwarder // nil for hostNetwork Pods

	// ctx is the Pod's life: cancelled first thing by Stop.
	ctx      context.Context
	cancel   context.CancelFunc
	unwatch  func() bool    // stops the Run context's watch
	wg       sync.WaitGroup // every goroutine that may start processes
	stopOnce sync.Once
	stopped  chan struct{} // closed when Stop is done

	mu          sync.Mutex
	state       podState
	status      corev1.PodStatus
	procs       map[*process]struct{} // running container processes
	terminating bool                  // no process may start any more
}

// Run starts pod with podIP (the caller's choice: NodeIP for hostNetwork
// Pods, else an address of its own such as 127.0.x.y). It returns once the
// Pod's directory, network namespace and forwarders are set up; volumes and
// containers start in the background. Errors are only for a sandbox that
// cannot be set up.
//
// ctx is the Pod's lifetime: when it ends, the Pod is stopped as by Stop with
// no grace period. Pass a context that lives as long as the node, not a
// request's.
func Run(ctx context.Context, cfg *Config, pod *corev1.Pod, podIP string) (*Pod, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Pod{
		cfg:     c,
		pod:     pod.DeepCopy(),
		podIP:   podIP,
		dir:     filepath.Join(c.Dir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID)),
		log:     c.Log.With("pod", pod.Namespace+"/"+pod.Name),
		stopped: make(chan struct{}),
		procs:   map[*process]struct{}{},
	}
	for _, d := range []string{"logs", "run", "volumes"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	if pod.Spec.HostNetwork {
		p.sb = hostSandbox{ip: c.NodeIP}
	} else {
		ns, err := newNetns(podIP)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		p.sb = ns
		p.fwd, err = newForwarder(podIP, podPorts(p.pod), ns.dial, p.log)
		if err != nil {
			ns.close()
			return nil, fmt.Errorf("pod %s/%s: forwarding to %s: %w", pod.Namespace, pod.Name, podIP, err)
		}
	}
	p.state = initialState(p.pod, podIP, c.NodeIP, metav1.Now())
	p.status = makeStatus(p.state, nil, p.state.startTime)
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.wg.Add(1)
	go p.supervise()
	watching := make(chan struct{})
	p.unwatch = context.AfterFunc(ctx, func() {
		<-watching // p.unwatch is set
		p.Stop(context.Background(), 0)
	})
	close(watching)
	p.log.Info("pod started", "podIP", podIP, "dir", p.dir)
	return p, nil
}

// initialState is a Pod whose containers are all waiting.
func initialState(pod *corev1.Pod, podIP, hostIP string, now metav1.Time) podState {
	s := podState{pod: pod, podIP: podIP, hostIP: hostIP, startTime: now}
	appReason := reasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		appReason = reasonPodInitializing
	}
	waiting := func(c corev1.Container, reason string) corev1.ContainerStatus {
		return corev1.ContainerStatus{
			Name:    c.Name,
			Image:   c.Image,
			State:   corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}},
			Started: new(false),
		}
	}
	for _, c := range pod.Spec.InitContainers {
		s.init = append(s.init, waiting(c, reasonPodInitializing))
	}
	for _, c := range pod.Spec.Containers {
		s.containers = append(s.containers, waiting(c, appReason))
	}
	return s
}

// podPorts are the ports the forwarder serves: every TCP containerPort and
// every httpGet or tcpSocket probe port, sorted, without duplicates.
func podPorts(pod *corev1.Pod) []int {
	var ports []int
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		for _, cp := range c.Ports {
			if cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP {
				ports = append(ports, int(cp.ContainerPort))
			}
		}
		for _, pr := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if pr == nil {
				continue
			}
			var port intstr.IntOrString
			switch {
			case pr.HTTPGet != nil:
				port = pr.HTTPGet.Port
			case pr.TCPSocket != nil:
				port = pr.TCPSocket.Port
			default:
				continue
			}
			if n, err := probePort(port, &c); err == nil {
				ports = append(ports, n)
			}
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// Status returns a fresh copy of the Pod's current status.
func (p *Pod) Status() corev1.PodStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *p.status.DeepCopy()
}

// LogPath is the file with the container's stdout and stderr.
func (p *Pod) LogPath(container string) string {
	return filepath.Join(p.dir, "logs", container+".log")
}

// Stop sends SIGTERM to every container's process group, SIGKILL after grace
// (or at once when ctx ends), waits for all of them, then closes the
// forwarders and the network namespace. Afterwards Status shows every
// container Terminated and the Pod Succeeded or Failed. Stop may be called
// more than once; later calls wait for the first.
func (p *Pod) Stop(ctx context.Context, grace time.Duration) {
	first := false
	p.stopOnce.Do(func() { first = true })
	if !first {
		<-p.stopped
		return
	}
	defer close(p.stopped)
	p.log.Info("stopping pod", "grace", grace)
	p.unwatch()
	p.cancel()
	p.mu.Lock()
	p.terminating = true
	procs := slices.Collect(maps.Keys(p.procs))
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, pr := range procs {
		wg.Go(func() { pr.terminate(grace, ctx.Done()) })
	}
	wg.Wait()
	p.wg.Wait()
	if p.fwd != nil {
		p.fwd.close()
	}
	p.sb.close()
	p.update(func(s *podState) {
		s.stopped = true
		for _, cs := range [][]corev1.ContainerStatus{s.init, s.containers} {
			for i := range cs {
				if cs[i].State.Terminated == nil {
					// Never ran, or waiting to restart: as the kubelet
					// reports a container it cannot find on deletion.
					cs[i].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
						ExitCode: 137,
						Reason:   reasonStatusUnknown,
						Message:  "The container could not be located when the pod was terminated",
					}}
					cs[i].Ready, cs[i].Started = false, new(false)
				}
			}
		}
	})
	p.log.Info("pod stopped")
}

// update changes the state under the lock, recomputes the status and tells
// the node.
func (p *Pod) update(f func(s *podState)) {
	p.mu.Lock()
	f(&p.state)
	p.status = makeStatus(p.state, p.status.Conditions, metav1.Now())
	p.mu.Unlock()
	p.cfg.OnChange()
}

// facts is what the downward API may refer to.
func (p *Pod) facts() podFacts {
	return podFacts{pod: p.pod, podIP: p.podIP, hostIP: p.cfg.NodeIP, nodeName: p.cfg.NodeName, allocatable: p.cfg.Allocatable}
}

// container finds a container of the Pod by name.
func (p *Pod) container(name string) *corev1.Container {
	for _, cs := range [][]corev1.Container{p.pod.Spec.Containers, p.pod.Spec.InitContainers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	return nil
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
