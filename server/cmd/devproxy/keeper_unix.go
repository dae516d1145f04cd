//go:build unix

package main

import "syscall"

func keeperAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// handsSocketsOver: the keeper gets the listening sockets as inherited
// file descriptors.
const handsSocketsOver = true
