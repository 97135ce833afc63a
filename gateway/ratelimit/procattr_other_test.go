//go:build !linux

package ratelimit

import "syscall"

func dieWithParent() *syscall.SysProcAttr { return nil }
