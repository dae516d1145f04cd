// Package tunnel finds, and when asked runs, the public tunnel in front of
// the proxy's tunnel listener: an ngrok agent (attached to through its
// local API, or started), a cloudflared quick tunnel (started; its URL is
// read from its log), or a URL the user typed.
//
// The package knows nothing of LSP or VS Code: it reports State values
// through Options.OnChange, and whoever hosts the proxy shows them. A
// process it starts is its own: it is killed, with its process group,
// when Stop is called or the context of Start ends. Secrets
// (NGROK_AUTHTOKEN) reach the child through its environment only, never its
// arguments, and are blanked out of every line this package logs or keeps.
package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Providers.
const (
	ProviderNgrok       = "ngrok"
	ProviderCloudflared = "cloudflared"
	ProviderManual      = "manual"
)

// Status of the tunnel.
const (
	StatusOff      = "off"      // no tunnel: none asked for, none found, or stopped
	StatusStarting = "starting" // looking for the public URL
	StatusUp       = "up"       // PublicURL is known
	StatusError    = "error"    // the provider failed; Err says why
)

// DefaultNgrokAPI is where an ngrok agent serves its local API; the
// environment variable NgrokAPIEnv names another place (an agent whose
// web_addr was changed).
const (
	DefaultNgrokAPI = "http://127.0.0.1:4040"
	NgrokAPIEnv     = "DEVPROXY_NGROK_API"
)

// State is what the tunnel is doing now. It never holds a secret.
type State struct {
	Provider  string    `json:"provider"`
	PublicURL string    `json:"publicUrl,omitempty"`
	Status    string    `json:"status"`
	Err       string    `json:"error,omitempty"`
	Since     time.Time `json:"since"`
}

// UpURL is the public URL while the tunnel is up, "" otherwise.
func (s State) UpURL() string {
	if s.Status == StatusUp {
		return s.PublicURL
	}
	return ""
}

// Options configure a Manager.
type Options struct {
	// TunnelAddr is the proxy's tunnel listener, "127.0.0.1:8081": where
	// the tunnel must deliver its traffic.
	TunnelAddr string
	// Provider is ProviderNgrok, ProviderCloudflared, ProviderManual or ""
	// (automatic: an ngrok agent forwarding to TunnelAddr while one does,
	// looked for every AutoEvery; no tunnel, and no error, otherwise).
	Provider  string
	ManualURL string // the URL for ProviderManual
	NgrokAPI  string // $DEVPROXY_NGROK_API, else DefaultNgrokAPI, when empty
	// Bin finds a program on PATH (exec.LookPath when nil).
	Bin func(name string) (string, error)
	// Env reads the environment (os.Getenv when nil): NGROK_AUTHTOKEN,
	// NGROK_STATIC_DOMAIN.
	Env func(string) string
	Log *slog.Logger // slog.Default() when nil
	// OnChange is called with every new State, from the Manager's own
	// goroutine, never with its lock held.
	OnChange func(State)

	// AutoEvery is how often the automatic mode looks for an agent (5 s
	// when zero).
	AutoEvery time.Duration

	// minDelay and maxDelay bound the backoff between attempts (200 ms
	// and 5 s when zero); tests shorten them.
	minDelay, maxDelay time.Duration
}

// Manager runs one tunnel: Start it, read State, Stop it. Start may be
// called again after Stop, or once a run has ended by itself (StatusError,
// or StatusOff when the automatic mode found no agent).
type Manager struct {
	opts Options

	mu     sync.Mutex
	state  State
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Manager for opts; nothing runs before Start.
func New(opts Options) *Manager {
	if opts.Bin == nil {
		opts.Bin = exec.LookPath
	}
	if opts.Env == nil {
		opts.Env = getenv
	}
	if opts.NgrokAPI == "" {
		opts.NgrokAPI = opts.Env(NgrokAPIEnv)
	}
	if opts.NgrokAPI == "" {
		opts.NgrokAPI = DefaultNgrokAPI
	}
	opts.NgrokAPI = strings.TrimRight(opts.NgrokAPI, "/")
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.minDelay <= 0 {
		opts.minDelay = 200 * time.Millisecond
	}
	if opts.maxDelay <= 0 {
		opts.maxDelay = 5 * time.Second
	}
	if opts.AutoEvery <= 0 {
		opts.AutoEvery = 5 * time.Second
	}
	return &Manager{opts: opts, state: State{Provider: opts.Provider, Status: StatusOff, Since: time.Now()}}
}

// State returns the current state.
func (m *Manager) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Start begins finding (or running) the tunnel in the background and
// returns at once; ctx bounds the whole run. An unknown provider or an
// invalid manual URL is returned as an error and also shown in State.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	if m.done != nil {
		select {
		case <-m.done: // that run has ended (an error, or no agent found)
			m.cancel()
		default:
			m.mu.Unlock()
			return errors.New("tunnel: already started")
		}
	}
	switch m.opts.Provider {
	case "", ProviderNgrok, ProviderCloudflared:
	case ProviderManual:
		if _, err := CheckPublicURL(m.opts.ManualURL); err != nil {
			m.mu.Unlock()
			m.set(State{Status: StatusError, Err: err.Error()})
			return err
		}
	default:
		m.mu.Unlock()
		err := fmt.Errorf("tunnel provider %q is not one of ngrok, cloudflared, manual", m.opts.Provider)
		m.set(State{Status: StatusError, Err: err.Error()})
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	m.cancel, m.done = cancel, done
	m.mu.Unlock()
	go func() {
		defer close(done)
		m.run(ctx)
	}()
	return nil
}

// Stop ends the run, kills a process Start started (and waits for it to
// exit), and reports StatusOff.
func (m *Manager) Stop() {
	m.mu.Lock()
	cancel, done := m.cancel, m.done
	m.cancel, m.done = nil, nil
	m.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	m.set(State{Status: StatusOff})
}

// set records s (with the provider and the time) and reports it when it
// differs from the current state.
func (m *Manager) set(s State) {
	if s.Provider == "" {
		s.Provider = m.opts.Provider
		if s.Provider == "" && s.Status != StatusOff {
			s.Provider = ProviderNgrok // automatic: only an ngrok agent is attached to
		}
	}
	s.Err = m.redact(s.Err)
	m.mu.Lock()
	old := m.state
	if old.Provider == s.Provider && old.Status == s.Status && old.PublicURL == s.PublicURL && old.Err == s.Err {
		m.mu.Unlock()
		return
	}
	s.Since = time.Now()
	m.state = s
	m.mu.Unlock()
	m.opts.Log.Info("tunnel", "provider", s.Provider, "status", s.Status, "url", s.PublicURL, "error", s.Err)
	if m.opts.OnChange != nil {
		m.opts.OnChange(s)
	}
}

func (m *Manager) run(ctx context.Context) {
	switch m.opts.Provider {
	case ProviderManual:
		u, _ := CheckPublicURL(m.opts.ManualURL)
		m.set(State{Status: StatusUp, PublicURL: u})
		<-ctx.Done()
	case "":
		m.watchAuto(ctx)
	case ProviderNgrok:
		m.runNgrok(ctx)
	case ProviderCloudflared:
		m.runCloudflared(ctx)
	}
}

// backoff is exponential with full jitter in its upper half, between
// minDelay and maxDelay.
type backoff struct {
	cur, min, max time.Duration
}

func (b *backoff) reset() { b.cur = 0 }

// next is the delay before the next attempt.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return b.cur/2 + rand.N(b.cur/2+1)
}

// sleep waits d or until ctx ends (false) or exited closes (false).
func sleep(ctx context.Context, d time.Duration, exited <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-exited:
		return false
	case <-t.C:
		return true
	}
}

// CheckPublicURL validates a public URL the user typed: http or https, a
// host, no user, path (other than "/"), query or fragment. It returns the
// URL without a trailing slash.
func CheckPublicURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("the tunnel's public URL %q must be an http(s) URL such as \"https://abc.ngrok.app\"", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#") {
		return "", fmt.Errorf("the tunnel's public URL %q must be scheme and host only, such as \"https://abc.ngrok.app\" (no user, path or query)", s)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// samePort reports whether addr ("http://localhost:8081", "localhost:8081",
// "8081") forwards to the loopback listener at ours ("127.0.0.1:8081").
func samePort(addr, ours string) bool {
	ourHost, ourPort, err := net.SplitHostPort(ours)
	if err != nil {
		return false
	}
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	}
	addr = strings.TrimRight(addr, "/")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "localhost", addr // a port alone
	}
	if port != ourPort {
		return false
	}
	if host == ourHost || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) || ourHost == "" || ourHost == "0.0.0.0" || ourHost == "::"
}
