package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"

	"github.com/freshetproj/freshet/test/processnode/podrun"
)

// provider is virtual-kubelet's PodLifecycleHandler and PodNotifier: it runs
// each pod bound to the node as local processes with podrun.
//
// Virtual-kubelet serialises calls for one pod name (its work queues are
// keyed by namespace/name), so CreatePod, UpdatePod and DeletePod never race
// for the same name; they do race with status notifications and Shutdown.
//
// Pods are kept by name, one per name. A Pod deleted and created again with
// the same name (a new UID) while the old one's processes are still stopping
// is therefore started only once they are gone: GetPod reports the name not
// found while the API server's Pod of that name has another UID, so virtual-
// kubelet calls CreatePod, which stops the old one (if nothing has yet) and
// waits for it. Until then the new Pod stays Pending, and status reports of
// the old one (with its UID) are refused by the API server.
type provider struct {
	base   podrun.Config // each pod runs with a copy carrying its own OnChange
	ips    *ipPool
	lister corev1listers.PodLister // virtual-kubelet's informer, for fresh metadata
	pods   corev1client.PodsGetter // to read a pod afresh and delete it once stopped
	// runCtx outlives virtual-kubelet's controllers: the processes run
	// until Shutdown stops them.
	runCtx context.Context

	mu      sync.Mutex
	entries map[string]*podEntry // by namespace/name
	notify  func(*corev1.Pod)    // nil before NotifyPods and after Shutdown
	closed  bool
	wg      sync.WaitGroup // relays and terminations
}

// podEntry is one running pod.
type podEntry struct {
	key string
	ip  netip.Addr // zero for hostNetwork pods, which use the node's IP
	run *podrun.Pod
	// changed coalesces podrun's OnChange calls: the relay reads the
	// latest status when it gets round to it, so none is lost or reordered.
	changed  chan struct{}
	stopOnce sync.Once
	stopped  chan struct{} // closed once run.Stop has returned

	// Guarded by provider.mu.
	pod      *corev1.Pod // as virtual-kubelet last gave it to us; never modified
	deleting bool
}

func (e *podEntry) signal() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// stop stops the processes once; later calls wait for the first to finish.
func (e *podEntry) stop(grace time.Duration) {
	e.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace+time.Minute)
		defer cancel()
		e.run.Stop(ctx, grace)
		close(e.stopped)
	})
	<-e.stopped
}

func podKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// NotifyPods implements node.PodNotifier: cb gets every status change.
func (p *provider) NotifyPods(_ context.Context, cb func(*corev1.Pod)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notify = cb
}

// CreatePod starts the pod's processes with an IP of its own (the node's
// for hostNetwork pods).
func (p *provider) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	key := podKey(pod)
	p.mu.Lock()
	closed, exists := p.closed, p.entries[key] != nil
	p.mu.Unlock()
	if closed {
		return fmt.Errorf("pod %s: the process node is shutting down", key)
	}
	if exists {
		running, err := p.awaitPredecessor(ctx, key, pod.UID)
		if err != nil {
			return fmt.Errorf("pod %s: %w", key, err)
		}
		if running {
			return nil
		}
	}
	// The API server's pod, with the environment that virtual-kubelet's
	// copy lacks (see withoutEnv).
	apiPod, err := p.pods.Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("pod %s: %w", key, err)
	}
	if apiPod.UID != pod.UID {
		return fmt.Errorf("pod %s: replaced by another with the same name (uid %s, not %s)", key, apiPod.UID, pod.UID)
	}

	e := &podEntry{key: key, pod: pod.DeepCopy(), changed: make(chan struct{}, 1), stopped: make(chan struct{})}
	podIP := p.base.NodeIP
	if !pod.Spec.HostNetwork {
		ip, err := p.ips.allocate()
		if err != nil {
			return fmt.Errorf("pod %s: %w", key, err)
		}
		e.ip, podIP = ip, ip.String()
	}
	cfg := p.base
	cfg.OnChange = e.signal
	run, err := podrun.Run(p.runCtx, &cfg, apiPod, podIP)
	if err != nil {
		p.release(e)
		return fmt.Errorf("pod %s: %w", key, err)
	}
	e.run = run

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		e.stop(0)
		p.release(e)
		return fmt.Errorf("pod %s: the process node is shutting down", key)
	}
	p.entries[key] = e // replacing a stopped predecessor terminate has not yet removed
	p.wg.Add(1)
	p.mu.Unlock()
	p.base.Log.Debug("pod created", "pod", key, "ip", podIP)
	go p.relay(e)
	e.signal()
	return nil
}

// UpdatePod only remembers the pod, which GetPod returns so that virtual-
// kubelet sees the update as done. Nothing is restarted: of what an update
// may change, images are resolved only when the pod starts (a kubelet
// would restart the container; make a new pod instead), labels and
// annotations reach the status reports from the informer anyway, and
// activeDeadlineSeconds and tolerations mean nothing to this node.
func (p *provider) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.entries[podKey(pod)]; e != nil && !e.deleting {
		e.pod = pod.DeepCopy()
	}
	return nil
}

// DeletePod stops the pod's processes in the background, giving them the
// pod's grace period between SIGTERM and SIGKILL; then it reports the pod
// terminated and, if the Pod object is being deleted, removes it from the
// API server at once (as a kubelet does) rather than waiting, as
// virtual-kubelet otherwise would, for the whole grace period. Virtual-
// kubelet may call DeletePod more than once for a pod.
func (p *provider) DeletePod(_ context.Context, pod *corev1.Pod) error {
	key := podKey(pod)
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[key]
	if e == nil {
		return errdefs.NotFoundf("pod %s is not running on this node", key)
	}
	p.terminateLocked(e, stopGrace(pod), pod.DeepCopy())
	return nil
}

// terminateLocked starts terminate for e unless it is under way already.
// The caller holds p.mu.
func (p *provider) terminateLocked(e *podEntry, grace time.Duration, apiPod *corev1.Pod) {
	if e.deleting {
		return
	}
	e.deleting = true
	p.wg.Add(1)
	go p.terminate(e, grace, apiPod)
}

// terminate stops e, forgets it, reports its final status and, if apiPod
// is being deleted, deletes it for good.
func (p *provider) terminate(e *podEntry, grace time.Duration, apiPod *corev1.Pod) {
	defer p.wg.Done()
	p.base.Log.Debug("deleting pod", "pod", e.key, "grace", grace)
	e.stop(grace)

	p.mu.Lock()
	if p.entries[e.key] == e {
		delete(p.entries, e.key)
	}
	notify := p.notify
	p.mu.Unlock()
	p.release(e)

	// Stop has left every container terminated and the phase terminal.
	final := p.notification(e)
	if notify != nil {
		notify(final)
	}
	p.base.Log.Debug("pod deleted", "pod", e.key, "phase", final.Status.Phase)

	if apiPod == nil || apiPod.DeletionTimestamp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(p.runCtx, 30*time.Second)
	defer cancel()
	opts := *metav1.NewDeleteOptions(0)
	opts.Preconditions = metav1.NewUIDPreconditions(string(apiPod.UID))
	err := p.pods.Pods(apiPod.Namespace).Delete(ctx, apiPod.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && !errors.Is(err, context.Canceled) {
		// Virtual-kubelet deletes it when the grace period is over.
		p.base.Log.Warn("deleting the stopped pod from the API server", "pod", e.key, "err", err)
	}
}

func (p *provider) release(e *podEntry) {
	if e.ip.IsValid() {
		p.ips.release(e.ip)
	}
}

// relay sends e's status to virtual-kubelet whenever podrun says it
// changed, until the pod is stopped (terminate sends the last one).
func (p *provider) relay(e *podEntry) {
	defer p.wg.Done()
	for {
		select {
		case <-e.changed:
			p.mu.Lock()
			notify := p.notify
			p.mu.Unlock()
			if notify != nil {
				notify(p.notification(e))
			}
		case <-e.stopped:
			return
		}
	}
}

// snapshot is the pod as virtual-kubelet gave it to us, with its current
// status. GetPod must return this spec: virtual-kubelet compares it with
// the API server's to decide whether to call UpdatePod.
func (p *provider) snapshot(e *podEntry) *corev1.Pod {
	p.mu.Lock()
	pod := e.pod.DeepCopy()
	p.mu.Unlock()
	pod.Status = e.run.Status()
	return pod
}

// notification is the pod with its current status, for virtual-kubelet to
// write to the API server. Virtual-kubelet writes the whole object to the
// status subresource, which also stores labels, annotations and
// finalizers; so it starts from the informer's copy of the pod, not ours,
// lest it undo someone else's change to them.
func (p *provider) notification(e *podEntry) *corev1.Pod {
	p.mu.Lock()
	pod := e.pod
	p.mu.Unlock()
	if fresh, err := p.lister.Pods(pod.Namespace).Get(pod.Name); err == nil && fresh.UID == pod.UID {
		pod = fresh
	}
	pod = pod.DeepCopy()
	pod.Status = e.run.Status()
	return pod
}

// awaitPredecessor returns running when the pod with uid is the one kept
// under key. Otherwise it stops the pod kept there (a predecessor of the
// same name), unless that is under way already, and returns once its
// processes are gone. A predecessor nobody stopped yet was deleted from the
// API server (its name now has another UID), so it gets the grace of a pod
// that is gone.
func (p *provider) awaitPredecessor(ctx context.Context, key string, uid types.UID) (running bool, err error) {
	p.mu.Lock()
	e := p.entries[key]
	if e == nil || e.pod.UID == uid {
		p.mu.Unlock()
		return e != nil, nil
	}
	p.terminateLocked(e, goneGrace, nil)
	p.mu.Unlock()
	p.base.Log.Debug("waiting for the pod's predecessor of the same name to stop", "pod", key, "uid", uid)
	select {
	case <-e.stopped:
		return false, nil
	case <-ctx.Done():
		return false, fmt.Errorf("waiting for its predecessor of the same name to stop: %w", ctx.Err())
	}
}

// current is the pod kept under namespace/name unless the API server's Pod
// of that name (as the informer last saw it) is another one: a pod created
// again with the same name while its predecessor is stopping, which
// virtual-kubelet is to create (see provider).
func (p *provider) current(namespace, name string) (*podEntry, error) {
	p.mu.Lock()
	e := p.entries[namespace+"/"+name]
	var uid types.UID
	if e != nil {
		uid = e.pod.UID
	}
	p.mu.Unlock()
	if e == nil {
		return nil, errdefs.NotFoundf("pod %s/%s is not running on this node", namespace, name)
	}
	if api, err := p.lister.Pods(namespace).Get(name); err == nil && api.UID != uid {
		return nil, errdefs.NotFoundf("pod %s/%s (uid %s) is not running on this node", namespace, name, api.UID)
	}
	return e, nil
}

// GetPod implements node.PodLifecycleHandler.
func (p *provider) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	e, err := p.current(namespace, name)
	if err != nil {
		return nil, err
	}
	return p.snapshot(e), nil
}

// GetPodStatus implements node.PodLifecycleHandler.
func (p *provider) GetPodStatus(_ context.Context, namespace, name string) (*corev1.PodStatus, error) {
	e, err := p.current(namespace, name)
	if err != nil {
		return nil, err
	}
	s := e.run.Status()
	return &s, nil
}

// GetPods implements node.PodLifecycleHandler.
func (p *provider) GetPods(context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	entries := make([]*podEntry, 0, len(p.entries))
	for _, e := range p.entries {
		entries = append(entries, e)
	}
	p.mu.Unlock()
	pods := make([]*corev1.Pod, 0, len(entries))
	for _, e := range entries {
		pods = append(pods, p.snapshot(e))
	}
	return pods, nil
}

// Shutdown stops every pod with the given grace period and waits for all
// of them, so no process outlives the node. Virtual-kubelet's controllers
// must have stopped: no status is reported any more.
func (p *provider) Shutdown(grace time.Duration) {
	p.mu.Lock()
	p.closed = true
	p.notify = nil
	for _, e := range p.entries {
		p.terminateLocked(e, grace, nil)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
