package child

import "syscall"

// SysProcAttr puts a child in a process group of its own, so SignalGroup
// reaches anything it starts, and has the kernel kill it if the test binary
// dies without running its cleanups (go test's -timeout).
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
