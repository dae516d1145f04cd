package httpproxy

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServeFreesItsPortsWhenCancelledAtOnce cancels Serve from its Ready
// callback, before the servers' accept loops have started; when Serve
// returns, both ports must be free again. (fasthttp's Shutdown alone does
// nothing for a server whose Serve has not yet registered its listener: the
// language server hit this when two configuration messages restarted its
// proxy back to back, and the orphaned listener looked like another
// devproxy.)
func TestServeFreesItsPortsWhenCancelledAtOnce(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "apps"), 0o755)
	for i := range 30 {
		ctx, cancel := context.WithCancel(context.Background())
		var addrs [2]string
		done := make(chan error, 1)
		go func() {
			done <- Serve(ctx, ServeOptions{Root: root, Listen: "127.0.0.1:0", TunnelListen: "127.0.0.1:0",
				Ready: func(info ServeInfo) { addrs = [2]string{info.Addr, info.TunnelAddr}; cancel() }})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d: Serve did not return after its context was cancelled", i)
		}
		for _, addr := range addrs {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("run %d: %s is still taken after Serve returned: %v", i, addr, err)
			}
			ln.Close()
		}
	}
}
