//go:build unix

package main

import "syscall"

func keeperAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
