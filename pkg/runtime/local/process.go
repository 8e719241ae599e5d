package local

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// outputLinger bounds how long, after a process's leader has exited and its group was
// killed, we wait for the rest of the group to die and for its output to close (a
// grandchild that left the group may hold it open) before we stop reading.
const outputLinger = time.Second

// process is one running child: the leader of its own process group.
type process struct {
	pid    int
	exited chan struct{} // closed once the leader has exited and been reaped
	err    error         // why it exited; read only after exited is closed

	out     *os.File      // read end of the stdout/stderr pipe; nil without a log
	outDone chan struct{} // closed when copying output has ended
}

// startProcess starts spec's command in a new process group with PORT=port, its stdout
// and stderr copied line by line to log (nil: discarded).
func startProcess(spec ProcessSpec, port int, log *lineWriter) (*process, error) {
	argv := append(spec.Command[1:len(spec.Command):len(spec.Command)], spec.Args...)
	cmd := exec.Command(spec.Command[0], argv...)
	cmd.Dir = spec.Dir
	cmd.Env = append(append(os.Environ(), spec.Env...), "PORT="+strconv.Itoa(port))
	cmd.SysProcAttr = procAttr()
	p := &process{exited: make(chan struct{}), outDone: make(chan struct{})}

	// A pipe of our own (an *os.File, so exec starts no copier) lets Wait return as soon
	// as the leader exits, even if something else in its group still holds the output.
	var w *os.File
	if log != nil {
		r, wr, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("output pipe: %w", err)
		}
		p.out, w = r, wr
		cmd.Stdout, cmd.Stderr = w, w
	}
	err := cmd.Start()
	if w != nil {
		w.Close() // the child holds its own copy
	}
	if err != nil {
		if p.out != nil {
			p.out.Close()
		}
		return nil, fmt.Errorf("start %q: %w", spec.Command[0], err)
	}
	p.pid = cmd.Process.Pid
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if p.out == nil {
		close(p.outDone)
		return p, nil
	}
	go func() {
		defer close(p.outDone)
		io.Copy(log, p.out) // ends at EOF, or when finish closes out
		log.flush()
	}()
	return p, nil
}

// signal sends sig to the process's whole group. A group that is already gone is not an
// error.
func (p *process) signal(sig syscall.Signal) error {
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to process group %d: %w", sig, p.pid, err)
	}
	return nil
}

// finish kills what is left of the process group once the leader has exited, and waits
// for the output copier to end. Call it exactly once, after exited is closed.
func (p *process) finish() {
	p.signal(syscall.SIGKILL) // leftovers only: the leader is already reaped
	deadline := time.Now().Add(outputLinger)
	if p.out != nil {
		t := time.NewTimer(outputLinger)
		select {
		case <-p.outDone:
		case <-t.C:
		}
		t.Stop()
		p.out.Close()
		<-p.outDone
	}
	// SIGKILL takes effect asynchronously, and the leftovers are not our children to
	// wait for: poll until none is alive, a little while at most.
	for groupAlive(p.pid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// groupAlive reports whether process group pgid has a member that is not a zombie. Where
// /proc cannot tell (not Linux), a zombie counts as alive.
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) >= 3 && fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" {
			return true
		}
	}
	return false
}

// freePort returns a loopback TCP port that was free a moment ago, other than avoid.
func freePort(avoid int) (int, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port != avoid {
			return port, nil
		}
	}
}
