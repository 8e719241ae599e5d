package local

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"time"
)

// readyFailures is how many failed probes in a row withdraw a ready replica.
const readyFailures = 3

// replica is one replica slot of a function: a goroutine that runs its process,
// restarts it after a crash, and stops it with drain when cancelled.
type replica struct {
	rt     *Runtime
	f      *function
	id     int         // N in "[function-N]"; higher is newer
	gen    int         // function generation of spec
	spec   ProcessSpec // defaulted
	prefix string      // "[function-N] "
	ctx    context.Context
	cancel context.CancelFunc // asks the replica to stop

	// Guarded by Runtime.mu.
	stopping bool   // cancel was called
	url      string // base URL while ready, else ""
	pid      int    // pid of the running process, else 0
}

// run keeps a process running until the replica is stopped.
func (rep *replica) run() {
	defer rep.rt.wg.Done()
	defer rep.rt.removeReplica(rep)
	defer rep.cancel()
	var delay time.Duration
	port := 0
	for {
		readyFor, usedPort, err := rep.runProcess(port)
		if rep.ctx.Err() != nil {
			return
		}
		port = usedPort
		cfg := rep.rt.cfg
		delay = restartDelay(delay, readyFor, cfg.RestartBackoffMin, cfg.RestartBackoffMax)
		rep.rt.logf(rep.prefix, "%v; restarting in %v", err, delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-rep.ctx.Done():
			t.Stop()
			return
		}
	}
}

// runProcess starts one process on a free port other than avoidPort, probes it, and
// returns when it exits (with how long it had been ready and why it exited) or, after
// stopping it, when the replica is stopped.
func (rep *replica) runProcess(avoidPort int) (readyFor time.Duration, port int, err error) {
	port, err = freePort(avoidPort)
	if err != nil {
		return 0, 0, rep.errorf("%w", err)
	}
	log := &lineWriter{prefix: rep.prefix, dst: rep.rt.cfg.Log, mu: &rep.rt.logMu}
	p, err := startProcess(rep.spec, port, log)
	if err != nil {
		return 0, port, rep.errorf("%w", err)
	}
	rep.setPid(p.pid)
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	health := url + rep.spec.HealthPath

	var readySince time.Time // zero while not ready
	everReady, fails := false, 0
	interval := rep.rt.cfg.ProbeInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		if rep.ctx.Err() != nil {
			rep.stop(p, everReady, url)
			return 0, port, nil
		}
		select {
		case <-p.exited:
			rep.setNotReady(true)
			p.finish()
			if !readySince.IsZero() {
				readyFor = time.Since(readySince)
			}
			return readyFor, port, rep.errorf("process %d exited: %v", p.pid, p.err)
		case <-rep.ctx.Done():
			continue
		case <-t.C:
		}
		ok := rep.rt.probe(rep.ctx, health)
		switch {
		case ok && readySince.IsZero():
			readySince, everReady, fails = time.Now(), true, 0
			interval = rep.rt.cfg.ReadyProbeInterval
			rep.setReady(url)
		case ok:
			fails = 0
		case !readySince.IsZero() && rep.ctx.Err() == nil:
			if fails++; fails >= readyFailures {
				rep.rt.logf(rep.prefix, "%d health probes failed; withdrawn until ready again", fails)
				readySince, fails = time.Time{}, 0
				interval = rep.rt.cfg.ProbeInterval
				rep.setNotReady(false)
			}
		}
		t.Reset(interval)
	}
}

// stop drains and ends the process p of a stopped replica: withdraw it, wait until the
// Router has no request in flight to it (if it ever took events) for up to Grace, SIGTERM
// its process group, wait up to Grace for it to exit, then SIGKILL the group.
func (rep *replica) stop(p *process, everReady bool, url string) {
	rt := rep.rt
	rep.setNotReady(false)
	if everReady {
		ctx, cancel := context.WithTimeout(rt.hurry, rep.spec.Grace)
		if err := rt.cfg.Router.WaitIdle(ctx, rep.f.name, url); err != nil {
			rt.logf(rep.prefix, "drain: %v", rep.errorf("wait for in-flight requests: %w", err))
		}
		cancel()
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		rt.logf(rep.prefix, "stop: %v", rep.errorf("%w", err))
	}
	t := time.NewTimer(rep.spec.Grace)
	select {
	case <-p.exited:
	case <-t.C:
		rt.logf(rep.prefix, "process %d did not exit %v after SIGTERM; sending SIGKILL", p.pid, rep.spec.Grace)
	case <-rt.hurry.Done():
		rt.logf(rep.prefix, "close cut short; sending SIGKILL to process %d", p.pid)
	}
	t.Stop()
	if err := p.signal(syscall.SIGKILL); err != nil {
		rt.logf(rep.prefix, "stop: %v", rep.errorf("%w", err))
	}
	<-p.exited
	p.finish()
	rep.setPid(0)
}

// setReady marks the replica ready at url and publishes it, unless it is stopping.
func (rep *replica) setReady(url string) {
	rt := rep.rt
	rt.mu.Lock()
	if rep.stopping {
		rt.mu.Unlock()
		return
	}
	rep.url = url
	rt.reconcileLocked(rep.f) // a ready replica may replace one of an older spec
	rt.mu.Unlock()
	rt.publish(rep.f)
}

// setNotReady withdraws the replica, and forgets its pid if its process exited.
func (rep *replica) setNotReady(exited bool) {
	rt := rep.rt
	rt.mu.Lock()
	rep.url = ""
	if exited {
		rep.pid = 0
	}
	rt.reconcileLocked(rep.f)
	rt.mu.Unlock()
	rt.publish(rep.f)
}

func (rep *replica) setPid(pid int) {
	rep.rt.mu.Lock()
	rep.pid = pid
	rep.rt.mu.Unlock()
}

// errorf returns an error naming the function and replica.
func (rep *replica) errorf(format string, args ...any) error {
	return fmt.Errorf("function %s replica %d: "+format, append([]any{rep.f.name, rep.id}, args...)...)
}
