package local

import "syscall"

// procAttr starts a replica in its own process group (so stopping it
// signals every process it started) and has the kernel SIGKILL it if this
// process dies, so a kill -9 of freshet dev leaves no orphaned replica
// holding a port. A replica's own children are still reached through the
// group when the runtime stops it normally.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
