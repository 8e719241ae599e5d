//go:build !unix

package child

import (
	"os"
	"os/exec"
	"syscall"
)

// Terminate and Kill: only killing is portable.
var (
	Terminate = os.Kill
	Kill      = os.Kill
)

func SysProcAttr() *syscall.SysProcAttr { return nil }

// SignalGroup signals cmd's process.
func SignalGroup(cmd *exec.Cmd, sig os.Signal) {
	if cmd.Process != nil {
		_ = cmd.Process.Signal(sig)
	}
}
