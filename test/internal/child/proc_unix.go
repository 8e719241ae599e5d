//go:build unix && !linux

package child

import "syscall"

// SysProcAttr puts a child in a process group of its own, so SignalGroup
// reaches anything it starts. (No Pdeathsig outside Linux: a test binary
// killed without running its cleanups leaves the child behind.)
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
