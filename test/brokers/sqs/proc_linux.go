package sqs

import (
	"os/exec"
	"syscall"
)

// setProcAttrs puts the emulator in a process group of its own, so that
// stopping it reaches anything it started, and has the kernel kill it if the
// test process dies first (a test binary killed by go test's -timeout never
// runs its cleanups).
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
