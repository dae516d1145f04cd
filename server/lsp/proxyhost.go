package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// proxyHost runs the proxy (the same as `devproxy serve`) inside the
// language server, on the configured address. It serves the workspace's
// served tables: the proxy serves saved files, the editor features see
// unsaved buffers too.
type proxyHost struct {
	s *Server

	applyMu sync.Mutex // one apply at a time

	mu      sync.Mutex
	status  ProxyStatus
	serving hostKey // what the running proxy was started with
	cancel  context.CancelFunc
	done    chan struct{}
}

// hostKey is what a running proxy depends on; a change restarts it.
type hostKey struct{ root, listen, tunnel string }

func (h *proxyHost) current() ProxyStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

func (h *proxyHost) setStatus(st ProxyStatus) {
	h.mu.Lock()
	h.status = st
	h.mu.Unlock()
	switch st.State {
	case "running":
		h.s.log.Info("proxy running", "address", st.Address)
	case "disabled":
		h.s.log.Info("proxy disabled", "message", st.Message)
	default:
		h.s.log.Warn("proxy not running here", "state", st.State, "address", st.Address, "message", st.Message)
	}
	h.s.notify("devproxy/status", st)
}

// apply brings the proxy in line with the current settings: it starts it,
// restarts it on another address, stops it, or, when it already runs as
// configured, leaves it alone (clients send configuration changes often).
// A proxy that failed to start is tried again. It runs off the read loop.
func (h *proxyHost) apply() {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	s := h.s
	s.mu.Lock()
	settings, down := s.settings, s.shutdown
	root, ws := s.root, s.ws
	s.mu.Unlock()
	table := s.snap.Load().table
	listen := table.Config.Listen
	tunnel := table.Config.Tunnel.Listen
	key := hostKey{root, listen, tunnel}
	enabled := !s.opts.DisableProxy && settings.proxyEnabled()
	h.mu.Lock()
	unchanged := h.cancel != nil && h.status.State == "running" && h.serving == key
	h.mu.Unlock()
	if down || (enabled && unchanged) {
		return
	}
	h.stop()
	if !enabled {
		h.setStatus(ProxyStatus{State: "disabled", Address: listen, Message: "The proxy is off (devproxy.proxy.enabled is false); editor features keep working."})
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	h.mu.Lock()
	h.cancel, h.done, h.serving = cancel, done, key
	h.mu.Unlock()
	ready := make(chan httpproxy.ServeInfo, 1)
	errc := make(chan error, 1)
	go func() {
		defer close(done)
		// The proxy serves the editor's workspace itself, not a second
		// copy: its served tables (the editor's settings, the files on
		// disk; unsaved buffers never serve).
		errc <- httpproxy.Serve(ctx, httpproxy.ServeOptions{
			Workspace: ws, Listen: listen, TunnelListen: tunnel, Log: s.log,
			Ready: func(info httpproxy.ServeInfo) { ready <- info },
		})
	}()
	select {
	case info := <-ready:
		h.setStatus(ProxyStatus{State: "running", Address: info.Addr, URL: "http://" + info.Addr,
			Message: fmt.Sprintf("Serving %s on http://%s; tunnel agents connect to %s.", root, info.Addr, info.TunnelAddr)})
	case err := <-errc:
		cancel()
		if err == nil {
			return
		}
		h.setStatus(h.diagnose(listen, tunnel, err))
	case <-s.ctx.Done():
	}
}

// diagnose explains why the proxy could not start.
func (h *proxyHost) diagnose(listen, tunnel string, err error) ProxyStatus {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ProxyStatus{State: "error", Address: listen, Message: "The proxy could not start: " + err.Error()}
	}
	if otherDevproxy(listen) {
		return ProxyStatus{State: "other-devproxy", Address: listen, URL: "http://" + listen,
			Message: fmt.Sprintf("Another devproxy (another VS Code window, or devproxy serve) already serves http://%s; it keeps serving, and this window's editor features work as usual.", listen)}
	}
	msg := fmt.Sprintf("Port %s is held by another program, so the proxy cannot start. Change devproxy.listen in the settings (or \"listen\" in devproxy.json), or stop that program.", listen)
	if tunnel != "" && strings.Contains(err.Error(), tunnel) {
		msg = fmt.Sprintf("Port %s is held by another program, so the proxy cannot start. Change devproxy.tunnel.listen in the settings (or \"tunnel.listen\" in devproxy.json), or stop that program.", tunnel)
	}
	return ProxyStatus{State: "port-in-use", Address: listen, Message: msg}
}

// otherDevproxy asks the address whether it is a devproxy.
func otherDevproxy(addr string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/devproxy/api/config")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var info httpproxy.ConfigInfo
	return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&info) == nil && info.APIBasePath == "/devproxy/api"
}

func (h *proxyHost) stop() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.cancel, h.done = nil, nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}
}
