//go:build unix && !linux

package sqs

import (
	"os/exec"
	"syscall"
)

// setProcAttrs puts the emulator in a process group of its own, so that
// stopping it reaches anything it started. (Only Linux can also have it
// killed when the test process dies.)
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
