package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/server/calliope"
)

// TestServeAnswersChat: a script asks `devproxy serve`'s Calliope over
// /devproxy/ws; with no model configured the answer is offline, streamed
// as deltas before the result, and about the route asked of.
func TestServeAnswersChat(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /shop/ { proxy_pass http://127.0.0.1:1; }\n")
	p := startServeProcess(t, root)
	addr := p.waitReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	var streamed strings.Builder
	c, err := live.Dial(ctx, addr, nil, func(method string, params json.RawMessage) {
		var d calliope.DeltaParams
		if method == "devproxy/chatDelta" && json.Unmarshal(params, &d) == nil {
			mu.Lock()
			streamed.WriteString(d.Delta)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var res calliope.ChatResult
	if err := c.Call(ctx, "devproxy/chat", map[string]string{"message": "what serves /shop/?"}, &res); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !res.Offline || streamed.String() != res.Text || !strings.Contains(res.Text, "/shop/") {
		t.Errorf("offline %v\nstreamed %q\nresult %q", res.Offline, streamed.String(), res.Text)
	}
}
