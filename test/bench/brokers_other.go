//go:build !linux

package main

import "syscall"

// brokerProcAttr puts a broker in a process group of its own, so that
// stopping it reaches anything it started. (No Pdeathsig outside Linux: a
// benchmark killed without cleaning up leaves the broker behind.)
func brokerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
