//go:build unix && !linux

package pulsar

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the broker in a process group of its own, so Kill reaches
// anything it starts. (No Pdeathsig outside Linux: a test binary killed
// without running its cleanups leaves the broker behind.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
