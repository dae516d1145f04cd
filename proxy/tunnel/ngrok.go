package tunnel

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ngrokTunnels is the answer of the agent's GET /api/tunnels
// (https://ngrok.com/docs/agent/api/), the fields we read.
type ngrokTunnels struct {
	Tunnels []struct {
		Name      string `json:"name"`
		PublicURL string `json:"public_url"`
		Proto     string `json:"proto"`
		Config    struct {
			Addr string `json:"addr"`
		} `json:"config"`
	} `json:"tunnels"`
}

var apiClient = &http.Client{Timeout: 2 * time.Second}

// ngrokURL asks the agent's local API for the public URL of the tunnel
// that forwards to the tunnel listener: an https one, else an http one.
// "" and no error: the agent answers but has no such tunnel (yet).
func (m *Manager) ngrokURL(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.opts.NgrokAPI+"/api/tunnels", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := apiClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("no ngrok agent answers at %s", m.opts.NgrokAPI)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the ngrok agent at %s answered %s", m.opts.NgrokAPI, resp.Status)
	}
	var list ngrokTunnels
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil {
		return "", fmt.Errorf("the ngrok agent at %s sent an answer that is not its tunnel list: %v", m.opts.NgrokAPI, err)
	}
	found := ""
	for _, t := range list.Tunnels {
		if !samePort(t.Config.Addr, m.opts.TunnelAddr) {
			continue
		}
		u, err := CheckPublicURL(t.PublicURL)
		if err != nil {
			continue
		}
		if strings.HasPrefix(u, "https://") {
			return u, nil
		}
		if found == "" {
			found = u
		}
	}
	return found, nil
}

// runNgrok attaches to an agent already forwarding to the tunnel listener,
// else starts `ngrok http ADDR` when ngrok is on PATH, else waits for an
// agent to appear; then it watches the agent's API.
func (m *Manager) runNgrok(ctx context.Context) {
	m.set(State{Status: StatusStarting})
	if u, _ := m.ngrokURL(ctx); u != "" {
		m.set(State{Status: StatusUp, PublicURL: u})
		m.watchNgrok(ctx, nil, "")
		return
	}
	path, err := m.opts.Bin("ngrok")
	if err != nil {
		m.watchNgrok(ctx, nil, fmt.Sprintf("ngrok is not on PATH, so start an agent yourself: ngrok http %s", m.opts.TunnelAddr))
		return
	}
	// The agent's own console UI needs a terminal; its log goes to
	// stdout instead. The token travels in the environment, which ngrok
	// reads, so it is never in the arguments (visible in ps) or the log.
	args := []string{"http", m.opts.TunnelAddr, "--log", "stdout", "--log-format", "logfmt"}
	if d := strings.TrimSpace(m.opts.Env("NGROK_STATIC_DOMAIN")); d != "" {
		if !strings.Contains(d, "://") {
			d = "https://" + d
		}
		args = append(args, "--url", d)
	}
	var env []string
	if tok := m.opts.Env("NGROK_AUTHTOKEN"); tok != "" {
		env = append(env, "NGROK_AUTHTOKEN="+tok)
	}
	c, err := m.startChild(ctx, ProviderNgrok, path, args, env, nil)
	if err != nil {
		m.set(State{Status: StatusError, Err: err.Error()})
		return
	}
	defer func() { <-c.exited }()
	m.watchNgrok(ctx, c, "")
}

// watchAuto is the automatic mode: nobody asked for a tunnel, but when an
// ngrok agent forwards to the tunnel listener its URL is shown, from the
// moment the agent reports it until the agent stops. Without an agent the
// state stays StatusOff, with no error: there is nothing to fix.
func (m *Manager) watchAuto(ctx context.Context) {
	for {
		u, _ := m.ngrokURL(ctx)
		if ctx.Err() != nil {
			return
		}
		if u != "" {
			m.set(State{Provider: ProviderNgrok, Status: StatusUp, PublicURL: u})
		} else {
			m.set(State{Status: StatusOff})
		}
		if !sleep(ctx, m.opts.AutoEvery, nil) {
			return
		}
	}
}

// watchNgrok polls the agent's API, with backoff while the URL is
// unknown and every maxDelay once it is, reporting each change, until ctx
// ends or the agent c (when not nil) exits. hint ends the message shown
// while the URL is unknown.
func (m *Manager) watchNgrok(ctx context.Context, c *child, hint string) {
	b := backoff{min: m.opts.minDelay, max: m.opts.maxDelay}
	var exited <-chan struct{}
	if c != nil {
		exited = c.exited
	}
	for {
		u, err := m.ngrokURL(ctx)
		if ctx.Err() != nil {
			return
		}
		delay := m.opts.maxDelay
		switch {
		case u != "":
			m.set(State{Status: StatusUp, PublicURL: u})
			b.reset()
		default:
			msg := fmt.Sprintf("the ngrok agent at %s has no tunnel to %s yet", m.opts.NgrokAPI, m.opts.TunnelAddr)
			if err != nil {
				msg = err.Error()
			}
			if hint != "" {
				msg += "; " + hint
			}
			m.set(State{Status: StatusStarting, Err: msg})
			delay = b.next()
		}
		if !sleep(ctx, delay, exited) {
			if ctx.Err() != nil {
				return
			}
			m.set(State{Status: StatusError, Err: c.failure()})
			return
		}
	}
}
