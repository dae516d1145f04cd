package tunnel

import (
	"context"
	"regexp"
)

// quickTunnelRE finds a quick tunnel's URL in cloudflared's log, which
// draws it in a box:
//
//	2024-01-01T00:00:00Z INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |
//	2024-01-01T00:00:00Z INF |  https://four-dashed-word-url.trycloudflare.com                                             |
//
// The names are dashed words, so api.trycloudflare.com (in its error
// lines) never matches.
var quickTunnelRE = regexp.MustCompile(`https://[a-z0-9]+(?:-[a-z0-9]+)+\.trycloudflare\.com\b`)

// runCloudflared starts a quick tunnel to the tunnel listener and reads
// its URL from the log; the tunnel lives as long as the process.
func (m *Manager) runCloudflared(ctx context.Context) {
	path, err := m.opts.Bin("cloudflared")
	if err != nil {
		m.set(State{Status: StatusError, Err: "cloudflared is not on PATH; install it (https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/) or choose another tunnel provider"})
		return
	}
	m.set(State{Status: StatusStarting})
	found := make(chan string, 1)
	args := []string{"tunnel", "--no-autoupdate", "--url", "http://" + m.opts.TunnelAddr}
	c, err := m.startChild(ctx, ProviderCloudflared, path, args, nil, func(line string) {
		if u := quickTunnelRE.FindString(line); u != "" {
			select {
			case found <- u:
			default:
			}
		}
	})
	if err != nil {
		m.set(State{Status: StatusError, Err: err.Error()})
		return
	}
	defer func() { <-c.exited }()
	for {
		select {
		case u := <-found:
			m.set(State{Status: StatusUp, PublicURL: u})
		case <-c.exited:
			if ctx.Err() == nil {
				m.set(State{Status: StatusError, Err: c.failure()})
			}
			return
		case <-ctx.Done():
			return
		}
	}
}
