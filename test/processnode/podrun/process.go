package podrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// launch is what starting one process of a container needs.
type launch struct {
	argv     []string
	env      []string
	spec     shimSpec
	specPath string // where spec is written for the shim
	logPath  string // stdout and stderr, appended; "" discards
}

// process is a started container process (or exec probe): the leader of its
// own process group.
type process struct {
	cmd       *exec.Cmd
	pid       int
	startedAt time.Time
	done      chan struct{} // closed when the process has exited and its group was killed
	state     *os.ProcessState
	finished  time.Time
}

// startError is a process that could not be started: the shim failed to
// mount or exec (like a runtime's StartError).
type startError struct{ msg string }

func (e *startError) Error() string { return e.msg }

// writeSpec writes what the shim is to do for l.
func writeSpec(l launch) error {
	raw, err := json.Marshal(l.spec)
	if err != nil {
		return err
	}
	return os.WriteFile(l.specPath, raw, 0o600)
}

// startProcess starts l (whose spec file is written) through the shim, in
// sb's network, a new mount namespace and a new process group. It returns
// once the real program runs (the shim exec'd it), or a *startError.
func startProcess(sb sandbox, shim []string, l launch) (*process, error) {
	var (
		out *os.File
		err error
	)
	if l.logPath != "" {
		out, err = os.OpenFile(l.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		defer out.Close()
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer statusR.Close()
	args := append(append(append([]string{}, shim...), l.specPath), l.argv...)
	cmd := &exec.Cmd{
		Path:       shim[0],
		Args:       args,
		Env:        l.env,
		ExtraFiles: []*os.File{statusW}, // becomes shimStatusFD
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:      true,
			Unshareflags: syscall.CLONE_NEWNS,
			// Dies with the node, even when the node is SIGKILLed (a test
			// binary's timeout). Pdeathsig fires when the forking *thread*
			// ends: sb.start forks on a thread that lives as long as the
			// process may. It survives the shim's exec of the program (not
			// set-user-ID, no new credentials).
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if out != nil { // an *os.File is passed as is: no copying goroutines
		cmd.Stdout, cmd.Stderr = out, out
	}
	err = sb.start(cmd)
	statusW.Close()
	if err != nil {
		return nil, &startError{msg: err.Error()}
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, startedAt: time.Now(), done: make(chan struct{})}
	// EOF with nothing read: the exec closed the descriptor. Otherwise the
	// shim wrote why it failed and exits.
	msg, _ := io.ReadAll(statusR)
	go p.wait()
	if len(msg) > 0 {
		<-p.done
		return nil, &startError{msg: string(msg)}
	}
	return p, nil
}

func (p *process) wait() {
	p.cmd.Wait()
	p.state = p.cmd.ProcessState
	p.finished = time.Now()
	// What the program left behind in its group dies with it, as in a
	// container whose init process exits.
	syscall.Kill(-p.pid, syscall.SIGKILL)
	close(p.done)
}

// signal sends sig to the process group, unless the process has exited.
func (p *process) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			fmt.Fprintf(os.Stderr, "podrun: kill -%d %d: %v\n", sig, p.pid, err)
		}
	}
}

// terminate sends SIGTERM to the group, then SIGKILL after grace (or when
// abort is closed), and waits for the exit.
func (p *process) terminate(grace time.Duration, abort <-chan struct{}) {
	p.signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	case <-abort:
	}
	p.signal(syscall.SIGKILL)
	<-p.done
}

// exitCode is the container exit code of a finished process: its status, or
// 128+signal when a signal ended it.
func exitCode(st *os.ProcessState) int32 {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int32(ws.Signal())
	}
	return int32(st.ExitCode())
}
