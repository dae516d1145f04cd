//go:build !unix

package main

import "syscall"

func keeperAttr() *syscall.SysProcAttr { return nil }

// handsSocketsOver: no file descriptors are inherited here; the keeper
// binds the port as the language server lets go.
const handsSocketsOver = false
