// Package heal holds Calliope's healing patterns (docs/calliope.md): a
// catalogue of known routing problems, their detection from health
// reports, the proxy's recent errors and the engine's own findings, and
// a proposed fix per finding, either a text edit of route files or the
// exact change to make in the app's config.
//
// A route-file edit is offered only after it was checked: the edited
// texts are composed into a table in memory (nothing is written), the
// engine must report no more problems in the edited files (strictly
// fewer for a pattern the engine itself reports, the slash pitfall), and
// the route is probed on two throwaway proxies on loopback, one serving
// the table as it is and one the edited table, each composed the same
// way: the probe must fail on the first and pass on the second. An
// app-side change cannot be checked here and says so (Fix.Verified
// false, Fix.Why).
//
// Detection reads the reports as they are and, when Inputs.Base is set,
// looks at the pages itself for what the scanner leaves out (assets
// outside a route's prefix, an API route's content type, a 308's
// Location, the page through the tunnel).
//
// Every verification is recorded (Records, bbolt) with its outcome; each
// pattern's confidence is (successes+1)/(attempts+2), and a pattern below
// 0.5 after at least 4 attempts is disabled until re-enabled.
//
// Users add declarative patterns in .devproxy/patterns/*.json
// (schemas/calliope-pattern.schema.json): they match report fields only
// and never run code.
//
// The old product's healing (see the reference notes) matched regexes
// against log text, ran the first "automated" function whether or not it
// existed, edited files before checking anything and never recorded
// confidence; none of that is copied.
package heal

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/node"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Pattern IDs of the built-in catalogue.
const (
	AssetsUnderPrefix   = "assets-404-under-prefix"
	ViteStorybookSubpth = "vite-or-storybook-subpath"
	HMRRefused          = "hmr-refused"
	MixedContentTunnel  = "mixed-content-tunnel"
	RedirectLoop        = "redirect-loop"
	APIAnswersHTML      = "api-answers-html"
	UpstreamUnreachable = "upstream-unreachable"
	SlashPitfall        = "slash-pitfall"
)

// Pattern is one entry of the catalogue.
type Pattern struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Detects string `json:"detects"` // what it looks for, in words
	Fix     string `json:"fix"`     // what the fix does, in words
	// Source is "builtin" or the display path of a user pattern file.
	Source string `json:"source"`
}

// Builtin is the pattern source of the catalogue's own patterns.
const Builtin = "builtin"

var builtins = []Pattern{
	{ID: AssetsUnderPrefix, Title: "Assets 404 under a path prefix",
		Detects: "the page loads but its scripts or styles answer 404 or an HTML page, because the app builds asset URLs for / rather than its route's prefix",
		Fix:     "set the framework's base path (Next.js basePath/assetPrefix, Vite base, CRA homepage, Storybook) to the route's prefix; for an app hard-wired to the root, a location that sends its asset folder to the same upstream"},
	{ID: ViteStorybookSubpth, Title: "Vite or Storybook under a subpath",
		Detects: "the page's Vite client or Storybook channel lives at the root while the app is served under a prefix, so hot reload and its modules miss the route",
		Fix:     "set Vite's base (and Storybook's viteFinal base) to the route's prefix"},
	{ID: HMRRefused, Title: "Hot-reload WebSocket refused",
		Detects: "the dev server refuses the hot-reload WebSocket upgrade through the proxy",
		Fix:     "forward the upgrade headers and the browser's Host (proxy_set_header Host $http_host), which dev servers compare with the page's Origin"},
	{ID: MixedContentTunnel, Title: "Mixed content through the https tunnel",
		Detects: "through the https tunnel the page redirects to, or references, http:// URLs of the proxy's host",
		Fix:     "send X-Forwarded-Proto $scheme so the app knows the page is https; the app must build URLs from it (or use relative URLs)"},
	{ID: RedirectLoop, Title: "Redirect loop",
		Detects: "the page redirects to itself, or between the path with and without its trailing slash",
		Fix:     "make the app and the route agree on the trailing slash"},
	{ID: APIAnswersHTML, Title: "API route answering HTML",
		Detects: "an API route answers text/html: another file's block (often an SPA fallback) takes its requests",
		Fix:     "pin the route to the API's file in .devproxy/resolutions.json"},
	{ID: UpstreamUnreachable, Title: "Upstream unreachable",
		Detects: "the upstream refuses connections or cannot be resolved",
		Fix:     "start the dev server on the upstream's host and port; when a common dev port next to it answers instead, point proxy_pass there"},
	{ID: SlashPitfall, Title: "Slash pitfall",
		Detects: "a prefix location without a trailing slash whose proxy_pass ends in one sends //path upstream (engine code slash-pitfall)",
		Fix:     "end the location's path with a slash"},
}

// Builtins returns the built-in catalogue.
func Builtins() []Pattern {
	out := make([]Pattern, len(builtins))
	for i, p := range builtins {
		p.Source = Builtin
		out[i] = p
	}
	return out
}

// Catalogue is the built-ins followed by the workspace's patterns.
func Catalogue(user []UserPattern) []Pattern {
	out := Builtins()
	for _, u := range user {
		out = append(out, u.Pattern())
	}
	return out
}

func builtinByID(id string) (Pattern, bool) {
	for _, p := range Builtins() {
		if p.ID == id {
			return p, true
		}
	}
	return Pattern{}, false
}

// Finding is a pattern matched on a route.
type Finding struct {
	Pattern  string   `json:"pattern"`
	Route    string   `json:"route"` // the report's route ("/app/") or spec
	File     string   `json:"file"`  // display path of the route file
	Line     int      `json:"line"`  // 1-based
	Summary  string   `json:"summary"`
	Evidence []string `json:"evidence"`
	// Framework is the app's framework when the page shows it (next,
	// vite, cra, storybook); "" otherwise.
	Framework string `json:"framework,omitempty"`
	// Upstream is the route's upstream origin, when it has one.
	Upstream string `json:"upstream,omitempty"`
	// AssetRoot is, for assets-404-under-prefix, the root folder the
	// page's failing assets live in ("/_next/"); "" otherwise.
	AssetRoot string `json:"assetRoot,omitempty"`
	// Advice is a user pattern's markdown advice; "" for built-ins.
	Advice string `json:"advice,omitempty"`
	// AppChange is a user pattern's app-side change; nil otherwise.
	AppChange *AppChange `json:"appChange,omitempty"`
}

// Fix is what Calliope offers for a finding: an Edit of route files, an
// AppChange to make in the app, or both (the app change first; the edit
// as the route-side alternative).
type Fix struct {
	Title     string     `json:"title"`
	Pattern   string     `json:"pattern"`
	Edit      *Edit      `json:"edit,omitempty"`
	AppChange *AppChange `json:"appChange,omitempty"`
	// Verified is set when the Edit was composed and probed and the probe
	// improved. An AppChange alone is never verified here: Why says so.
	Verified bool   `json:"verified"`
	Why      string `json:"why"`
	// Before and After are the route's probe results around the edit
	// ("HMR refused with HTTP 403" → "ok"), when one ran.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// AppChange is a change to make in the app's own configuration.
type AppChange struct {
	File        string `json:"file"` // "next.config.js"
	Description string `json:"description"`
	Snippet     string `json:"snippet"`
}

// Edit is a set of text edits of route files (and of
// .devproxy/resolutions.json), by display path, as the RouteTable names
// files. Positions follow LSP: 0-based lines, characters in UTF-16 code
// units (routefile.Pos columns minus one); the server turns the paths
// into URIs for a WorkspaceEdit.
type Edit struct {
	Changes map[string][]TextEdit `json:"changes"`
	// Create lists the paths the edit creates (a resolutions file that
	// did not exist); their one TextEdit holds the whole content.
	Create []string `json:"create,omitempty"`
	// Versions are the editor's versions of the files whose text was an
	// open buffer (SourceFile.Open), for a versioned TextDocumentEdit;
	// files read from disk are absent.
	Versions map[string]int32 `json:"versions,omitempty"`
}

// Position is an LSP position: 0-based line, UTF-16 character.
type Position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// Range is a half-open LSP range.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// TextEdit replaces Range with NewText. StartOffset and EndOffset are the
// same range in bytes of the text the edit was made for (not on the
// wire); Apply uses them.
type TextEdit struct {
	Range       Range  `json:"range"`
	NewText     string `json:"newText"`
	StartOffset int    `json:"-"`
	EndOffset   int    `json:"-"`
}

func lspPos(p routefile.Pos) Position { return Position{Line: p.Line - 1, Character: p.Col - 1} }

// insertAt is an insertion of text at byte offset off of src.
func insertAt(src []byte, off int, text string) TextEdit {
	p := lspPos(routefile.PosAt(src, off))
	return TextEdit{Range: Range{p, p}, NewText: text, StartOffset: off, EndOffset: off}
}

// replaceRange replaces r of src with text.
func replaceRange(r routefile.Range, text string) TextEdit {
	return TextEdit{Range: Range{lspPos(r.Start), lspPos(r.End)}, NewText: text, StartOffset: r.Start.Offset, EndOffset: r.End.Offset}
}

// Apply returns text with edits applied (byte offsets of text).
// Overlapping edits are an error.
func Apply(text []byte, edits []TextEdit) ([]byte, error) {
	es := append([]TextEdit(nil), edits...)
	sort.SliceStable(es, func(i, j int) bool { return es[i].StartOffset < es[j].StartOffset })
	var b strings.Builder
	at := 0
	for _, e := range es {
		if e.StartOffset < at || e.EndOffset < e.StartOffset || e.EndOffset > len(text) {
			return nil, fmt.Errorf("edit [%d,%d) overlaps another or lies outside the text (%d bytes)", e.StartOffset, e.EndOffset, len(text))
		}
		b.Write(text[at:e.StartOffset])
		b.WriteString(e.NewText)
		at = e.EndOffset
	}
	b.Write(text[at:])
	return []byte(b.String()), nil
}

// ProxyError is one of the proxy's recent failed requests (the owner's
// RecentErrors; node.ErrorOf converts an access-log entry).
type ProxyError = node.ProxyError

// Inputs is what Detect reads.
type Inputs struct {
	Table   *routing.RouteTable
	Reports []health.Report
	Errors  []ProxyError
	// UserPatterns are the workspace's patterns (LoadUserPatterns).
	UserPatterns []UserPattern
	// Records, when set, switches off disabled patterns.
	Records *Records
	// Base is the proxy's local listener ("http://127.0.0.1:8080"). When
	// set, Detect fetches the pages of routes whose report looks healthy
	// or suspicious for what the scanner leaves out: assets outside the
	// route's prefix (another route's business to the scanner, the app's
	// missing base path here), the page's content type, redirects.
	Base string
	// TunnelBase is the proxy's tunnel listener ("http://127.0.0.1:8081");
	// when set, pages are fetched through it too, as the https tunnel
	// would, for mixed content.
	TunnelBase string
	// Timeout bounds each fetch; health.DefaultTimeout when zero.
	Timeout time.Duration
	// Header is added to Detect's own requests: httpproxy.ProbeHeader
	// with the proxy's token, so they count as probes, not traffic.
	Header http.Header
}

func (in Inputs) timeout() time.Duration {
	if in.Timeout > 0 {
		return in.Timeout
	}
	return health.DefaultTimeout
}

// blockOf finds the table's block a report or finding names.
func blockOf(t *routing.RouteTable, file string, line int, route string) *routing.Block {
	if t == nil {
		return nil
	}
	var fallback *routing.Block
	for _, b := range t.Blocks {
		if b.File.Path != file || health.RouteOf(b) != route {
			continue
		}
		if b.Loc.Line() == line {
			return b
		}
		if fallback == nil {
			fallback = b
		}
	}
	return fallback
}

// probeClient fetches pages without following redirects.
func probeClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// ctxDone reports whether ctx has ended.
func ctxDone(ctx context.Context) bool { return ctx.Err() != nil }
