//go:build unix

package child

import (
	"os/exec"
	"syscall"
)

// Terminate and Kill are the signals SignalGroup sends to stop a child.
const (
	Terminate = syscall.SIGTERM
	Kill      = syscall.SIGKILL
)

// SignalGroup signals the process group cmd leads (see SysProcAttr).
func SignalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, sig)
	}
}
