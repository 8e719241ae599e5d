package main

import "syscall"

// brokerProcAttr puts a broker in a process group of its own, so that
// stopping it reaches anything it started, and has the kernel kill it if
// the benchmark dies first.
func brokerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
