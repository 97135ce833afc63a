package ratelimit

import "syscall"

// dieWithParent keeps a crashed test binary from leaving redis-server behind.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
