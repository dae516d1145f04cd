// Package testpeer is a raw loopback peer for tests: an upstream or a
// program that writes bytes no HTTP library would, or that must hold a
// port. Packages proxytest builds on use it directly; others use
// proxytest.ServeConns.
package testpeer

import (
	"net"
	"sync"
	"testing"
)

// ServeConns listens on a free loopback port and runs handle on each
// connection, in its own goroutine, until the test ends, when the
// listener and every connection still open are closed. It returns the
// address: a raw upstream or peer, for tests that write bytes the
// net/http server never would, or that must hold a port.
func ServeConns(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// FreeAddr is a loopback address nothing listens on (for a moment: the
// port was free when asked).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
