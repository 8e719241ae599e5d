package podrun

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// backoffReset is how long a container must run for its restart back-off to
// start over.
const backoffReset = 10 * time.Minute

// restartDelay is the wait before the n-th consecutive restart (n ≥ 1):
// base·2^(n-1), at most max.
func restartDelay(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// shouldRestart is the restart rule for a container that exited with code.
// Init containers never restart after success, and not at all under Never.
func shouldRestart(policy corev1.RestartPolicy, init bool, code int32) bool {
	switch {
	case init:
		return policy != corev1.RestartPolicyNever && code != 0
	case policy == corev1.RestartPolicyAlways:
		return true
	case policy == corev1.RestartPolicyOnFailure:
		return code != 0
	}
	return false
}

// supervise materializes the volumes, runs the init containers one after
// another to completion, then the app containers.
func (p *Pod) supervise() {
	defer p.wg.Done()
	vols, ok := p.volumesWithRetry()
	if !ok {
		return
	}
	for i := range p.pod.Spec.InitContainers {
		r := &containerRunner{p: p, c: &p.pod.Spec.InitContainers[i], init: true, idx: i}
		if code, ok := r.run(vols); !ok || code != 0 {
			return // stopped, or failed under restartPolicy Never
		}
	}
	for i := range p.pod.Spec.Containers {
		r := &containerRunner{p: p, c: &p.pod.Spec.Containers[i], idx: i}
		p.wg.Go(func() { r.run(vols) })
	}
}

// volumesWithRetry retries a failed volume setup (e.g. a ConfigMap not
// created yet) with back-off, as the kubelet keeps a Pod ContainerCreating;
// the waiting containers' message says why.
func (p *Pod) volumesWithRetry() (map[string]volume, bool) {
	delay := p.cfg.RestartBackoff
	failed := false
	for {
		vols, err := p.setupVolumes(p.ctx)
		if err != nil && p.ctx.Err() != nil {
			return nil, false
		}
		if err != nil || failed { // show why, or clear it after a failure
			msg := ""
			if err != nil {
				p.log.Warn("volume setup failed", "err", err)
				msg = "mounting volumes: " + err.Error()
			}
			p.update(func(s *podState) {
				for _, cs := range [][]corev1.ContainerStatus{s.init, s.containers} {
					for i := range cs {
						if w := cs[i].State.Waiting; w != nil {
							w.Message = msg
						}
					}
				}
			})
		}
		if err == nil {
			return vols, true
		}
		failed = true
		if !sleep(p.ctx, delay) {
			return nil, false
		}
		delay = min(2*delay, p.cfg.MaxRestartBackoff)
	}
}

// containerRunner runs one container of the Pod, restarting it per policy.
type containerRunner struct {
	p        *Pod
	c        *corev1.Container
	init     bool
	idx      int // in the init or app container statuses
	attempts int // processes started (or failed to start) so far
}

// set changes the container's status.
func (r *containerRunner) set(f func(cs *corev1.ContainerStatus)) {
	r.p.update(func(s *podState) {
		if r.init {
			f(&s.init[r.idx])
		} else {
			f(&s.containers[r.idx])
		}
	})
}

func (r *containerRunner) waiting(reason, msg string) {
	r.set(func(cs *corev1.ContainerStatus) {
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
		cs.Ready, cs.Started = false, new(false)
	})
}

// run runs the container until it is not to be restarted, and returns its
// last exit code; ok is false when the Pod stopped first.
func (r *containerRunner) run(vols map[string]volume) (code int32, ok bool) {
	p := r.p
	consecutive := 0
	for {
		l, err := r.prepare(vols)
		var img imageMissingError
		switch {
		case errors.As(err, &img):
			r.waiting(reasonErrImagePull, err.Error())
			<-p.ctx.Done() // the image table never changes
			return 0, false
		case err != nil:
			// Like the kubelet: CreateContainerConfigError, retried with
			// back-off, not a restart.
			p.log.Warn("container config", "container", r.c.Name, "err", err)
			r.waiting(reasonConfigError, err.Error())
			consecutive++
			if !sleep(p.ctx, restartDelay(consecutive, p.cfg.RestartBackoff, p.cfg.MaxRestartBackoff)) {
				return 0, false
			}
			continue
		}
		term, ranFor, ok := r.runOnce(l)
		if !ok {
			return 0, false
		}
		if p.ctx.Err() != nil || !shouldRestart(p.pod.Spec.RestartPolicy, r.init, term.ExitCode) {
			return term.ExitCode, p.ctx.Err() == nil
		}
		if ranFor >= backoffReset {
			consecutive = 0
		}
		consecutive++
		delay := restartDelay(consecutive, p.cfg.RestartBackoff, p.cfg.MaxRestartBackoff)
		r.set(func(cs *corev1.ContainerStatus) {
			cs.LastTerminationState = corev1.ContainerState{Terminated: term}
			cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason:  reasonCrashLoopBackOff,
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, r.c.Name, p.pod.Name, p.pod.Namespace, p.pod.UID),
			}}
		})
		if !sleep(p.ctx, delay) {
			return term.ExitCode, false
		}
	}
}

// imageMissingError is an image reference that is not in Config.Images.
type imageMissingError struct{ image string }

func (e imageMissingError) Error() string {
	return fmt.Sprintf("image %q is not known to this process node (not in its image table)", e.image)
}

// prepare resolves what starting the container takes: image, environment,
// argv and mounts.
func (r *containerRunner) prepare(vols map[string]volume) (launch, error) {
	p, c := r.p, r.c
	img, ok := lookupImage(p.cfg.Images, c.Image)
	if !ok {
		return launch{}, imageMissingError{c.Image}
	}
	kenv, err := containerEnv(p.ctx, p.facts(), c, p.cfg.Cluster, p.cfg.APIServer)
	if err != nil {
		return launch{}, err
	}
	vars := kenv.vars()
	argv, err := containerArgv(c, img, vars)
	if err != nil {
		return launch{}, err
	}
	mounts, err := containerMounts(c, vols, vars)
	if err != nil {
		return launch{}, err
	}
	if err := ensureSubPaths(mounts); err != nil {
		return launch{}, err
	}
	return launch{
		argv:     argv,
		env:      processEnv(p.pod.Name, img, kenv).environ(),
		spec:     shimSpec{Mounts: mounts, Dir: workingDir(c, img)},
		specPath: filepath.Join(p.dir, "run", c.Name+".json"),
		logPath:  p.LogPath(c.Name),
	}, nil
}

// runOnce starts the container's process, probes it while it runs and
// records how it ended. ok is false when the Pod was stopped before the
// process could start.
func (r *containerRunner) runOnce(l launch) (term *corev1.ContainerStateTerminated, ranFor time.Duration, ok bool) {
	p := r.p
	if p.ctx.Err() != nil {
		return nil, 0, false
	}
	restart := r.attempts > 0
	r.attempts++
	err := writeSpec(l)
	var proc *process
	if err == nil {
		proc, err = startProcess(p.sb, p.cfg.Shim, l)
	}
	if err != nil {
		var se *startError
		if !errors.As(err, &se) {
			se = &startError{msg: err.Error()}
		}
		p.log.Warn("container start failed", "container", r.c.Name, "err", se)
		now := metav1.Now()
		term := &corev1.ContainerStateTerminated{ExitCode: 128, Reason: reasonStartError, Message: se.msg, StartedAt: now, FinishedAt: now}
		r.set(func(cs *corev1.ContainerStatus) {
			if restart {
				cs.RestartCount++
			}
			cs.State = corev1.ContainerState{Terminated: term}
			cs.Ready, cs.Started = false, new(false)
		})
		return term, 0, true
	}
	containerID := fmt.Sprintf("process://%d", proc.pid)
	imageID := ""
	if path, err := lookPath(l.argv[0], envValue(l.env, "PATH")); err == nil {
		imageID = "process://" + path
	}
	startedNow := r.c.StartupProbe == nil
	p.mu.Lock()
	if p.terminating { // Stop ran while this was starting: it did not see proc
		p.mu.Unlock()
		proc.signal(syscall.SIGKILL)
		<-proc.done
	} else {
		p.procs[proc] = struct{}{}
		p.mu.Unlock()
	}
	r.set(func(cs *corev1.ContainerStatus) {
		if restart {
			cs.RestartCount++
		}
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(proc.startedAt)}}
		cs.ContainerID, cs.ImageID = containerID, imageID
		cs.Started = new(startedNow)
		cs.Ready = startedNow && r.c.ReadinessProbe == nil
	})
	p.log.Info("container started", "container", r.c.Name, "pid", proc.pid, "argv", l.argv)

	var probes sync.WaitGroup
	probeCtx, stopProbes := context.WithCancel(p.ctx)
	probes.Go(func() { r.probe(probeCtx, proc, l) })
	<-proc.done
	stopProbes()
	probes.Wait()

	p.mu.Lock()
	delete(p.procs, proc)
	p.mu.Unlock()
	code := exitCode(proc.state)
	reason := reasonCompleted
	if code != 0 {
		reason = reasonError
	}
	term = &corev1.ContainerStateTerminated{
		ExitCode:    code,
		Reason:      reason,
		StartedAt:   metav1.NewTime(proc.startedAt),
		FinishedAt:  metav1.NewTime(proc.finished),
		ContainerID: containerID,
	}
	if ws, ok := proc.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		term.Signal = int32(ws.Signal())
	}
	r.set(func(cs *corev1.ContainerStatus) {
		cs.State = corev1.ContainerState{Terminated: term}
		cs.Ready, cs.Started = false, new(false)
	})
	p.log.Info("container exited", "container", r.c.Name, "pid", proc.pid, "exitCode", code)
	return term, proc.finished.Sub(proc.startedAt), true
}

// envValue finds name in a NAME=value list.
func envValue(env []string, name string) string {
	for _, kv := range env {
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:]
		}
	}
	return ""
}
