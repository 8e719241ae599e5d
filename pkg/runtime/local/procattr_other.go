//go:build !linux

package local

import "syscall"

// procAttr starts a replica in its own process group (so stopping it
// signals every process it started). Only Linux can also tie the replica's
// life to this process.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
