package tunnel

import (
	"context"
	"fmt"
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

// cloudflaredAttempts is how many times in a row cloudflared may exit
// before the tunnel is an error: a quick tunnel's request fails now and
// then (trycloudflare.com is a best-effort service).
const cloudflaredAttempts = 3

// runCloudflared starts a quick tunnel to the tunnel listener and reads
// its URL from the log; the tunnel lives as long as the process. When the
// process exits it is started again after a backoff (a new quick tunnel,
// a new URL), until it has failed cloudflaredAttempts times in a row.
func (m *Manager) runCloudflared(ctx context.Context) {
	path, err := m.opts.Bin("cloudflared")
	if err != nil {
		m.set(State{Status: StatusError, Err: "cloudflared is not on PATH; install it (https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/) or choose another tunnel provider"})
		return
	}
	b := backoff{min: m.opts.minDelay, max: m.opts.maxDelay}
	for failures := 0; ; {
		if m.State().Status != StatusStarting {
			m.set(State{Status: StatusStarting})
		}
		c, up, err := m.cloudflaredOnce(ctx, path)
		if err != nil {
			m.set(State{Status: StatusError, Err: err.Error()})
			return
		}
		if ctx.Err() != nil {
			return
		}
		if up {
			failures = 0
			b.reset()
		}
		if failures++; failures >= cloudflaredAttempts {
			m.set(State{Status: StatusError, Err: c.failure()})
			return
		}
		m.set(State{Status: StatusStarting, Err: fmt.Sprintf("%s; starting it again (attempt %d of %d)", c.failure(), failures+1, cloudflaredAttempts)})
		if !sleep(ctx, b.next(), nil) {
			return
		}
	}
}

// cloudflaredOnce runs cloudflared until it exits or ctx ends, reporting
// the URL when its log shows it; up says whether it did.
func (m *Manager) cloudflaredOnce(ctx context.Context, path string) (c *child, up bool, err error) {
	found := make(chan string, 1)
	args := []string{"tunnel", "--no-autoupdate", "--url", "http://" + m.opts.TunnelAddr}
	c, err = m.startChild(ctx, ProviderCloudflared, path, args, nil, func(line string) {
		if u := quickTunnelRE.FindString(line); u != "" {
			select {
			case found <- u:
			default:
			}
		}
	})
	if err != nil {
		return nil, false, err
	}
	defer func() { <-c.exited }()
	for {
		select {
		case u := <-found:
			up = true
			m.set(State{Status: StatusUp, PublicURL: u})
		case <-c.exited:
			return c, up, nil
		case <-ctx.Done():
			return c, up, nil
		}
	}
}
