// Package proxytest runs the real proxy on loopback for the tests of the
// packages built on it (proxy/health, proxy/monitor, proxy/metrics,
// server/calliope/heal): route files written to a temporary folder,
// httpproxy.Serve on free ports, stopped when the test ends. Only tests
// import it. proxy/httpproxy's own tests have a harness of their own (this
// package imports httpproxy).
package proxytest

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/internal/testpeer"
)

// WriteFiles writes files (path relative to root → content) under root.
func WriteFiles(tb testing.TB, root string, files map[string]string) {
	tb.Helper()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// Serve runs httpproxy.Serve with opts on 127.0.0.1 (both listeners on
// free ports unless opts says otherwise) until the test ends, and
// returns once it is ready. When neither opts.Root nor opts.Workspace is
// set, files are written to a temporary folder that becomes the root.
func Serve(tb testing.TB, files map[string]string, opts httpproxy.ServeOptions) httpproxy.ServeInfo {
	tb.Helper()
	if opts.Root == "" && opts.Workspace == nil {
		opts.Root = tb.TempDir()
		WriteFiles(tb, opts.Root, files)
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.TunnelListen == "" {
		opts.TunnelListen = "127.0.0.1:0"
	}
	ready := make(chan httpproxy.ServeInfo, 1)
	opts.Ready = func(i httpproxy.ServeInfo) { ready <- i }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpproxy.Serve(ctx, opts) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			tb.Error("Serve did not stop")
		}
	})
	select {
	case info := <-ready:
		return info
	case err := <-done:
		tb.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		tb.Fatal("Serve did not become ready")
	}
	return httpproxy.ServeInfo{}
}

// Buffer is a bytes.Buffer that a test reads while goroutines (a server's
// log, a child process's output) write it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FreeAddr is a loopback address nothing listens on (for a moment: the
// port was free when asked).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	return testpeer.FreeAddr(tb)
}

// ServeConns listens on a free loopback port and runs handle on each
// connection until the test ends (testpeer.ServeConns): a raw upstream
// or peer, for tests that write bytes the net/http server never would,
// or that must hold a port.
func ServeConns(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	return testpeer.ServeConns(t, handle)
}
