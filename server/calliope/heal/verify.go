package heal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// VerifyEnv is what Propose needs to check a fix.
type VerifyEnv struct {
	// Table is the table the finding was detected on. Edits apply to its
	// files' Text (what the table was composed from), so their positions
	// are exact; its Config and resolutions are reused.
	Table *routing.RouteTable
	// Timeout bounds each probe; health.DefaultTimeout when zero.
	Timeout time.Duration
	// Records, when set, receives the outcome of every verification that
	// ran, and refuses disabled patterns.
	Records *Records
	// CandidatePorts are the ports tried on an unreachable upstream's
	// host, in order; DefaultCandidatePorts when nil.
	CandidatePorts []int
}

// DefaultCandidatePorts are the dev servers' usual ports: Next.js and
// CRA, Vite, Storybook, Angular, Astro, Django/Rails/Flask and friends.
var DefaultCandidatePorts = []int{3000, 3001, 5173, 5174, 4173, 6006, 4200, 4321, 8000, 8080, 8081, 5000, 8888}

func (env VerifyEnv) timeout() time.Duration {
	if env.Timeout > 0 {
		return env.Timeout
	}
	return health.DefaultTimeout
}

// ComposeEdited composes t's files with edit applied, in memory: nothing
// is written. A resolutions file in the edit replaces the table's pins.
// Tables of several folders are not supported (their pins are per
// folder).
func ComposeEdited(t *routing.RouteTable, edit *Edit) (*routing.RouteTable, error) {
	if len(t.Folders) > 1 {
		return nil, errors.New("verifying edits of a multi-folder workspace is not supported")
	}
	texts := map[string][]byte{}
	if edit != nil {
		for path, es := range edit.Changes {
			var base []byte
			if path == routing.ResolutionsFile {
				base = t.ResolutionsText
			} else if f := t.FileByPath(path); f != nil {
				base = f.Text
			} else {
				return nil, fmt.Errorf("the edit changes %s, which is not a route file of the table", path)
			}
			if isCreate(edit, path) {
				base = nil
			}
			nt, err := Apply(base, es)
			if err != nil {
				return nil, fmt.Errorf("apply the edit to %s: %w", path, err)
			}
			texts[path] = nt
		}
	}
	var files []*routing.SourceFile
	for _, f := range t.Files {
		text := f.Text
		if nt, ok := texts[f.Path]; ok {
			text = nt
		}
		if text == nil {
			continue // never read: it contributes nothing to t either
		}
		files = append(files, &routing.SourceFile{Path: f.Path, Folder: f.Folder, Abs: f.Abs, Kind: f.Kind, ModTime: f.ModTime,
			Size: int64(len(text)), Text: text, Parsed: routefile.Parse(f.Path, text)})
	}
	res := routing.Resolutions{}
	resText := t.ResolutionsText
	if nt, ok := texts[routing.ResolutionsFile]; ok {
		resText = nt
	}
	if len(strings.TrimSpace(string(resText))) > 0 {
		if err := json.Unmarshal(resText, &res); err != nil {
			return nil, fmt.Errorf("%s: %w", routing.ResolutionsFile, err)
		}
	}
	return routing.Compose(t.Config, files, res), nil
}

func isCreate(e *Edit, path string) bool {
	for _, p := range e.Create {
		if p == path {
			return true
		}
	}
	return false
}

// problems counts the engine's findings on file that are not mere
// information: errors, warnings and hints.
func problems(t *routing.RouteTable, file string) int {
	n := 0
	for _, d := range t.Diagnostics {
		if d.File == file && d.Severity != routefile.Information {
			n++
		}
	}
	return n
}

// throwaway is a proxy serving one table on loopback, both listeners.
type throwaway struct {
	base, tunnelBase string
	table            *routing.RouteTable
	stop             func()
}

func serveTable(t *routing.RouteTable) (*throwaway, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, err
	}
	p := httpproxy.New(t, nil)
	local, tunnel := p.NewServer(false), p.NewServer(true)
	done := make(chan struct{}, 2)
	go func() { local.Serve(ln); done <- struct{}{} }()
	go func() { tunnel.Serve(tln); done <- struct{}{} }()
	return &throwaway{base: "http://" + ln.Addr().String(), tunnelBase: "http://" + tln.Addr().String(), table: t, stop: func() {
		local.Close()
		tunnel.Close()
		<-done
		<-done
		p.Close()
	}}, nil
}

// BrowserScan scans routes of t through the proxy at base as a browser
// on the page would: with the page's Origin on every probe (dev servers
// check a WebSocket's Origin against Host), not following redirects.
func BrowserScan(ctx context.Context, base string, t *routing.RouteTable, timeout time.Duration, routes ...string) (*health.ScanReport, error) {
	s, err := health.New(base, health.Options{Timeout: timeout, Concurrency: 2, Header: http.Header{"Origin": {base}}})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Scan(ctx, t, routes...), nil
}

// reportOf is the scan's report for route (the active one).
func reportOf(rep *health.ScanReport, route string) (health.Report, bool) {
	for _, r := range rep.Routes {
		if r.Route == route && r.Active {
			return r, true
		}
	}
	return health.Report{}, false
}

// probe judges one proxy: ok, and what it saw in words.
type probe func(ctx context.Context, p *throwaway) (ok bool, saw string)

// verification is the outcome of checking an edit.
type verification struct {
	improved      bool
	before, after string
	why           string
	// probed is set when the check ran on both proxies; an edit the
	// engine refused counts too (the pattern proposed a bad edit).
	probed bool
}

// verify composes the edit, checks the engine does not find more
// problems in the files it changes (strictly fewer when fewer is set),
// then serves the table before and after on throwaway proxies and runs
// check on both: the edit is verified when check fails before and
// passes after.
func (env VerifyEnv) verify(ctx context.Context, edit *Edit, fewer bool, check probe) verification {
	after, err := ComposeEdited(env.Table, edit)
	if err != nil {
		return verification{why: err.Error()}
	}
	before, err := ComposeEdited(env.Table, nil)
	if err != nil {
		return verification{why: err.Error()}
	}
	for path := range edit.Changes {
		b, a := problems(before, path), problems(after, path)
		if a > b || fewer && a == b {
			return verification{probed: true, why: fmt.Sprintf("the engine finds %d problem(s) in %s after the edit, %d before", a, path, b)}
		}
	}
	pb, err := serveTable(before)
	if err != nil {
		return verification{why: "cannot start a proxy to probe: " + err.Error()}
	}
	defer pb.stop()
	pa, err := serveTable(after)
	if err != nil {
		return verification{why: "cannot start a proxy to probe: " + err.Error()}
	}
	defer pa.stop()
	okB, sawB := check(ctx, pb)
	okA, sawA := check(ctx, pa)
	v := verification{before: sawB, after: sawA, improved: okA && !okB, probed: true}
	switch {
	case v.improved:
		v.why = "composed with the edit and probed on a throwaway proxy: " + sawB + " before, " + sawA + " after"
	case okB:
		v.why = "the route already passes this probe without the edit (" + sawB + "); the problem lies elsewhere"
	default:
		v.why = "the edit does not fix the probe: " + sawB + " before, " + sawA + " after"
	}
	return v
}
