package child

import (
	"os/exec"
	"sync"
	"time"
)

// Process is a started child in its own process group, reaped in the
// background. On Linux the child (not what it starts itself) gets SIGKILL
// when the OS thread that started it ends: normally when the test binary
// dies, but a goroutine that locks its thread and returns locked can end
// that thread earlier.
type Process struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	waitErr  error
	killOnce sync.Once
}

// StartProcess starts cmd in its own process group.
func StartProcess(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = SysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Kill kills the process group (SIGKILL) and waits for the process to
// exit. It is safe to call more than once.
func (p *Process) Kill() {
	p.killOnce.Do(func() {
		select {
		case <-p.done: // already reaped: its pid may belong to another process now
		default:
			SignalGroup(p.cmd, Kill)
			<-p.done
		}
	})
}

// Exited reports whether the process has exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// Stop asks the process group to end (SIGTERM), waits up to grace for the
// process to exit, then kills the group; it returns once the process is
// reaped.
func (p *Process) Stop(grace time.Duration) {
	if exited, _ := p.Exited(); !exited {
		SignalGroup(p.cmd, Terminate)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	p.Kill() // a no-op once it has exited
}
