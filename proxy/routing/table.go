// Package routing composes route files into a RouteTable and answers, for
// any request, which location handles it and what the upstream receives,
// following nginx's rules (spec/route-files.md). A RouteTable is immutable:
// the proxy, the language server and the CLI read it concurrently, and a
// change produces a new table.
package routing

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// FileKind says who owns a route file.
type FileKind int

const (
	AppFile      FileKind = iota // apps/NAME.conf, owned by the app
	OverrideFile                 // overrides/NAME.conf, owned by the operator
)

func (k FileKind) String() string {
	if k == OverrideFile {
		return "override"
	}
	return "app"
}

// SourceFile is one route file as read from disk (or from an editor).
type SourceFile struct {
	// Path is the display path: relative to the folder, forward slashes,
	// with the folder's label first when the workspace has several
	// folders ("shop/apps/shop.conf").
	Path string
	// Folder is the label of the workspace folder that holds the file;
	// Abs is its absolute path. Both are "" for files composed in memory.
	Folder  string
	Abs     string
	Kind    FileKind
	ModTime time.Time
	Size    int64
	// Text is the content Parsed was read from (an editor's buffer or the
	// disk), so that positions and edits computed on the table apply to
	// exactly this text; nil when the file was not read (too large,
	// unreadable, outside the workspace).
	Text []byte
	// Open is set when Text is an editor's buffer (an overlay); Version is
	// then the editor's version of it. Unsaved is set when that buffer
	// differs from the file on disk.
	Open    bool
	Version int32
	Unsaved bool
	Parsed  *routefile.File
	// Stale is set when the file on disk no longer parses and the proxy
	// serves its last good version (spec §4), which was modified at
	// GoodSince. In the served table, Text, Parsed and ModTime are that
	// good version's and Current is the file as it is on disk now, whose
	// diagnostics the table reports; in the editor's table the entry is
	// what the editor sees, as for any file.
	Stale     bool
	GoodSince time.Time
	Current   *routefile.File
}

// Block is one location block placed in the composed table.
type Block struct {
	Loc   *routefile.Location
	File  *SourceFile
	Order int // position in composed order
	// Active blocks take part in matching. Inactive says why not
	// (decisions.go); InactiveSentence says it in words.
	Active   bool
	Inactive InactiveReason
	// Conflict is set when another file claims the same route.
	Conflict *Conflict
	// ShadowedBy is the block of an earlier file that takes this block's
	// requests, when Inactive is InactiveShadowedByEarlier.
	ShadowedBy *Block
	// Upstream is the proxy_pass origin when it can be known without a
	// request ("http://api:8000"), else the proxy_pass text.
	Upstream string
	// SlashPitfall is set when the block is a prefix location without a
	// trailing slash whose proxy_pass URI ends in one, so that sub-paths
	// reach the upstream with a double slash (slashpitfall.go).
	SlashPitfall *SlashPitfall
	// WebSocketHost is the proxy_set_header Upgrade (or Connection)
	// directive of a block that passes WebSocket upgrades to its upstream
	// with the default Host, which dev servers refuse (websockethost.go).
	WebSocketHost *routefile.Directive
	// folderConfig is the settings of the folder that holds File: its
	// environment maps the block's proxy_pass targets (MapUpstream), so
	// that each folder on a shared port is routed with its own profile.
	folderConfig *Config
}

// upstreamConfig is what maps a folder's proxy_pass targets: the
// folder's environment (its editor's devproxy.environment, or the --env
// of the process that registered it), as the folder's devproxy.json
// defines it, else as the primary folder's does (one devproxy.json may
// serve a window of several folders).
func upstreamConfig(folder, primary Config) *Config {
	c := &Config{Environment: folder.Environment, Environments: folder.Environments}
	if _, ok := c.Environments[c.Environment]; !ok {
		c.Environments = primary.Environments
	}
	return c
}

// MapUpstream is Config.MapUpstream with the environment of the folder
// that holds the block's file; it also returns that environment's name.
func (b *Block) MapUpstream(u *routefile.UpstreamURL) (to *routefile.UpstreamURL, env string, ok bool) {
	if b.folderConfig == nil {
		return u, "", false
	}
	to, ok = b.folderConfig.MapUpstream(u)
	return to, b.folderConfig.Environment, ok
}

// neverRuns reports a block that no request can reach whatever the other
// files do: a duplicate within its file, or a reserved path. (A block that
// lost a conflict still runs once its file wins.)
func (b *Block) neverRuns() bool {
	return b.Inactive == InactiveDuplicate || b.Inactive == InactiveReserved
}

// Label is "apps/a.conf:3 (^~ /api/)".
func (b *Block) Label() string {
	return fmt.Sprintf("%s:%d (%s)", b.File.Path, b.Loc.Line(), b.Loc.Label())
}

// Conflict is one route claimed by blocks of two or more files.
type Conflict struct {
	Route      string
	Winner     *SourceFile
	Settlement Settlement // how Winner was chosen
	// PinnedIn is the display path of the resolutions file whose pin
	// chose Winner, when Settlement is SettledByPin.
	PinnedIn string
	Claims   []*Block // every claiming block, composed order
}

// RouteTable is an immutable snapshot of a workspace's routing.
type RouteTable struct {
	// Root is the primary folder's absolute path; Config is its settings,
	// which hold the process's (listen, tunnel, allowedHosts, dataDir,
	// retention).
	Root   string
	Config Config
	// Folders are the workspace's folders, the primary first; nil for
	// tables composed alone.
	Folders []Folder
	// Files are in composed order: overrides by name, then apps newest
	// first (ties by name).
	Files []*SourceFile
	// Blocks holds every location of every file that loaded, in composed
	// order, active or not.
	Blocks      []*Block
	Conflicts   []*Conflict
	Diagnostics []routefile.Diagnostic
	Built       time.Time
	// ResolutionsText is the primary folder's .devproxy/resolutions.json,
	// as the pins were read from it (nil without one); ResolutionsTextOf
	// reads any folder's.
	ResolutionsText []byte
	// Generation counts the tables a Workspace has published, from 1:
	// a later table has a larger number. Tables composed alone have 0.
	Generation uint64

	tree    *treeNode
	regexes regexIndex
	named   map[string][]*Block
	// pinTexts are the resolutions files' texts by display path.
	pinTexts map[string][]byte
}

// composeInput is everything composition needs; it does no I/O.
type composeInput struct {
	root    string
	config  Config
	folders []Folder
	files   []*SourceFile
	// pins are the folders' resolutions files, in folder order; resData
	// is the primary folder's text.
	pins       []pinFile
	resData    []byte
	extraDiags []routefile.Diagnostic // devproxy.json, resolutions and folder problems
}

// composedOrder sorts files: overrides by path, then apps newest first.
func composedOrder(files []*SourceFile) []*SourceFile {
	out := append([]*SourceFile(nil), files...)
	slices.SortStableFunc(out, func(a, b *SourceFile) int {
		if a.Kind != b.Kind {
			if a.Kind == OverrideFile {
				return -1
			}
			return 1
		}
		if a.Kind == AppFile && !a.ModTime.Equal(b.ModTime) {
			return b.ModTime.Compare(a.ModTime) // newest first
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out
}

func compose(in composeInput) *RouteTable {
	t := &RouteTable{Root: in.root, Config: in.config, Folders: in.folders, Built: time.Now(), ResolutionsText: in.resData,
		named: map[string][]*Block{}, pinTexts: map[string][]byte{}}
	for _, p := range in.pins {
		if p.data != nil {
			t.pinTexts[p.file] = p.data
		}
	}
	t.Files = composedOrder(in.files)
	configs := make(map[string]*Config, len(t.Folders))
	for _, f := range t.Folders {
		configs[f.Label] = upstreamConfig(f.Config, t.Config)
	}
	t.Diagnostics = append(t.Diagnostics, in.extraDiags...)
	for _, f := range t.Files {
		if f.Current != nil {
			t.Diagnostics = append(t.Diagnostics, f.Current.Diagnostics...)
		} else {
			t.Diagnostics = append(t.Diagnostics, f.Parsed.Diagnostics...)
		}
		if f.Stale {
			t.Diagnostics = append(t.Diagnostics, staleDiag(f))
		}
		if !f.Parsed.OK {
			continue
		}
		for _, loc := range f.Parsed.Locations {
			b := &Block{Loc: loc, File: f, Order: len(t.Blocks), Active: true, Upstream: loc.Upstream, folderConfig: configs[f.Folder]}
			if b.folderConfig == nil { // a file composed in memory
				b.folderConfig = upstreamConfig(t.Config, t.Config)
			}
			if u, err := routefile.ParseUpstreamURL(loc.Upstream); err == nil {
				if to, _, ok := b.MapUpstream(u); ok {
					b.Upstream = to.Origin()
				}
			}
			switch {
			case loc.DuplicateOf != nil:
				b.Active, b.Inactive = false, InactiveDuplicate
			case loc.Reserved:
				b.Active, b.Inactive = false, InactiveReserved
			}
			t.Blocks = append(t.Blocks, b)
		}
	}
	t.resolveConflicts(t.mergePins(in.pins, in.files))
	t.resolveCrossFileDuplicates()
	var regexes []*Block
	for _, b := range t.Blocks {
		if !b.Active {
			continue
		}
		switch {
		case b.Loc.Modifier.IsRegex():
			regexes = append(regexes, b)
		case b.Loc.Modifier == routefile.ModNamed:
			t.named[b.Loc.Spec] = append(t.named[b.Loc.Spec], b)
		}
	}
	t.regexes = newRegexIndex(regexes)
	t.tree = buildTree(t.activeBlocks())
	t.reportShadowing()
	t.reportSlashPitfalls()
	t.reportWebSocketHosts()
	t.reportUnreachableRegexes()
	t.checkErrorPages()
	sortDiagnostics(t.Diagnostics)
	return t
}

func (t *RouteTable) activeBlocks() []*Block {
	out := make([]*Block, 0, len(t.Blocks))
	for _, b := range t.Blocks {
		if b.Active {
			out = append(out, b)
		}
	}
	return out
}

// resolveConflicts finds routes claimed by more than one file, picks each
// winner (spec §4) and switches off the losing files' blocks.
func (t *RouteTable) resolveConflicts(pins map[string]*pin) {
	byRoute := map[string][]*Block{}
	var routes []string
	for _, b := range t.Blocks {
		if !b.Active || !b.Loc.HasRoute {
			continue
		}
		if _, ok := byRoute[b.Loc.Route]; !ok {
			routes = append(routes, b.Loc.Route)
		}
		byRoute[b.Loc.Route] = append(byRoute[b.Loc.Route], b)
	}
	sort.Strings(routes)
	pinsUsed := map[string]bool{}
	for _, route := range routes {
		claims := byRoute[route]
		files := claimingFiles(claims)
		if len(files) < 2 {
			continue
		}
		p := pins[route]
		winner, settled := pickWinner(files, p)
		c := &Conflict{Route: route, Winner: winner, Settlement: settled, Claims: claims}
		if settled == SettledByPin {
			pinsUsed[route] = true
			c.PinnedIn = p.src.file
		} else if p != nil {
			t.Diagnostics = append(t.Diagnostics, p.diag(route,
				fmt.Sprintf("%s is pinned to %q, which does not claim it; claimed by %s", route, p.value, fileList(files))))
			pinsUsed[route] = true
		}
		t.Conflicts = append(t.Conflicts, c)
		for _, b := range claims {
			b.Conflict = c
			if b.File != winner {
				b.Active, b.Inactive = false, InactiveLostConflict
			}
			t.Diagnostics = append(t.Diagnostics, conflictDiag(b, c))
		}
	}
	for _, route := range slices.Sorted(maps.Keys(pins)) {
		if pinsUsed[route] {
			continue
		}
		if _, claimed := byRoute[route]; !claimed {
			msg := fmt.Sprintf("no route file claims %s; this pin has no effect", route)
			// Routes end in "/" (spec §3): a pin keyed "/api" is
			// most likely meant for the route "/api/".
			alt := route + "/"
			if strings.HasSuffix(route, "/") {
				alt = strings.TrimSuffix(route, "/")
			}
			if _, ok := byRoute[alt]; ok && alt != "" {
				msg += fmt.Sprintf("; did you mean %s?", alt)
			}
			d := pins[route].diag(route, msg)
			d.Severity = routefile.Hint
			t.Diagnostics = append(t.Diagnostics, d)
		}
	}
}

func claimingFiles(claims []*Block) []*SourceFile {
	var files []*SourceFile
	seen := map[*SourceFile]bool{}
	for _, b := range claims {
		if !seen[b.File] {
			seen[b.File] = true
			files = append(files, b.File)
		}
	}
	return files
}

// pickWinner applies the winner rules of spec §4 in order: an override beats
// an app; else a pin in a resolutions file; else the newest file (ties by
// path).
func pickWinner(files []*SourceFile, p *pin) (*SourceFile, Settlement) {
	cands := files
	var overrides []*SourceFile
	for _, f := range files {
		if f.Kind == OverrideFile {
			overrides = append(overrides, f)
		}
	}
	if len(overrides) == 1 {
		return overrides[0], SettledByOverride
	}
	if len(overrides) > 1 {
		cands = overrides
	}
	if f := p.target(cands); f != nil {
		return f, SettledByPin
	}
	best := cands[0]
	for _, f := range cands[1:] {
		if f.ModTime.After(best.ModTime) || (f.ModTime.Equal(best.ModTime) && f.Path < best.Path) {
			best = f
		}
	}
	for _, f := range cands {
		if f != best && f.ModTime.Equal(best.ModTime) {
			return best, SettledBySameAgeFirstByPath
		}
	}
	return best, SettledByNewest
}

func baseName(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

func fileList(files []*SourceFile) string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Path
	}
	return strings.Join(names, ", ")
}

// conflictDiag describes a contested route on one claiming block. The
// losing side's diagnostic covers the whole block and is tagged
// Unnecessary, so editors grey the block out. A conflict someone resolved
// (an override, or a pin in resolutions.json) is a hint: the choice is
// made, nothing is left to fix. One decided only by file age is a warning
// on both sides, because the next save can flip it, and says how to settle
// it (Settlement.Advice).
func conflictDiag(b *Block, c *Conflict) routefile.Diagnostic {
	var others []string
	var related []routefile.Related
	seen := map[*SourceFile]bool{b.File: true}
	for _, o := range c.Claims {
		if seen[o.File] {
			continue
		}
		seen[o.File] = true
		start := o.Loc.Directive.Range.Start
		others = append(others, fmt.Sprintf("%s:%d:%d", o.File.Path, start.Line, start.Col))
		msg := "also claims " + c.Route
		if o.File == c.Winner {
			msg += fmt.Sprintf(" and wins (%s)", c.Phrase())
		}
		related = append(related, routefile.Related{File: o.File.Path, Range: o.Loc.Directive.HeaderRange(), Message: msg})
	}
	severity := routefile.Warning
	if c.Settlement.Chosen() {
		severity = routefile.Hint
	}
	msg := fmt.Sprintf("%s is also claimed by %s; %s wins (%s)", c.Route, joinAnd(others), c.Winner.Path, c.Phrase())
	if advice := c.Settlement.Advice(); advice != "" {
		msg += "; " + advice
	}
	d := routefile.Diagnostic{
		File:     b.File.Path,
		Severity: severity,
		Code:     routefile.CodeConflict,
		Message:  msg,
		Range:    b.Loc.Directive.HeaderRange(),
		Related:  related,
	}
	if b.File != c.Winner {
		d.Range = b.Loc.Range()
		d.Tags = []routefile.Tag{routefile.TagUnnecessary}
	}
	return d
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// matchKey identifies locations nginx would treat as the same one: one name
// for exact, one for prefix (plain and ^~ together), one per regex text.
func matchKey(l *routefile.Location) string {
	switch l.Modifier {
	case routefile.ModExact:
		return "= " + l.Spec
	case routefile.ModPrefix, routefile.ModNoRegex:
		return "prefix " + l.Spec
	}
	return string(l.Modifier) + " " + l.Spec
}

// resolveCrossFileDuplicates handles blocks that have no route (file-like
// paths, "/", regexes, named locations) but collide across files: nginx
// would refuse to start; devproxy keeps the first in composed order.
func (t *RouteTable) resolveCrossFileDuplicates() {
	first := map[string]*Block{}
	for _, b := range t.Blocks {
		if !b.Active || b.Loc.HasRoute {
			continue
		}
		k := matchKey(b.Loc)
		prev, ok := first[k]
		if !ok {
			first[k] = b
			continue
		}
		if prev.File == b.File {
			continue // reported by the file itself
		}
		if b.Loc.Modifier == routefile.ModNamed {
			continue // error_page prefers the named location of its own file
		}
		b.Active, b.Inactive, b.ShadowedBy = false, InactiveShadowedByEarlier, prev
		start := prev.Loc.Directive.Range.Start
		t.Diagnostics = append(t.Diagnostics, routefile.Diagnostic{
			File: b.File.Path, Severity: routefile.Warning, Code: routefile.CodeDuplicate,
			Message: fmt.Sprintf("location %s is also defined in %s:%d:%d, which comes first in composed order; this block never matches",
				b.Loc.Label(), prev.File.Path, start.Line, start.Col),
			Range:   b.Loc.Directive.HeaderRange(),
			Related: []routefile.Related{{File: prev.File.Path, Range: prev.Loc.Directive.HeaderRange(), Message: "takes these requests"}},
			Tags:    []routefile.Tag{routefile.TagUnnecessary},
		})
	}
}

// reportShadowing notes prefix locations that lose a sub-path to another
// file's longer ^~ location or to a regex (spec §4).
func (t *RouteTable) reportShadowing() {
	type pair struct {
		victim *Block
		file   *SourceFile
	}
	seen := map[pair]bool{}
	for _, l := range t.Blocks {
		if !l.Active {
			continue
		}
		var sub string
		switch {
		case l.Loc.Modifier == routefile.ModNoRegex:
			sub = l.Loc.Spec
		case l.Loc.Regex != nil && l.Loc.Regex.Anchored && !l.Loc.Regex.PrefixFold && strings.HasPrefix(l.Loc.Regex.Prefix, "/"):
			sub = l.Loc.Regex.Prefix
		default:
			continue
		}
		for _, p := range prefixesOf(t.tree, sub) {
			if p.File == l.File || p == l {
				continue
			}
			if l.Loc.Modifier == routefile.ModNoRegex && len(p.Loc.Spec) >= len(sub) {
				continue
			}
			if l.Loc.Modifier.IsRegex() && p.Loc.Modifier == routefile.ModNoRegex {
				continue // ^~ stops the regex search
			}
			k := pair{p, l.File}
			if seen[k] {
				continue
			}
			seen[k] = true
			start := l.Loc.Directive.Range.Start
			what := "requests under " + sub
			if l.Loc.Modifier.IsRegex() {
				what = fmt.Sprintf("requests under %s that match %s", sub, l.Loc.Spec)
			}
			t.Diagnostics = append(t.Diagnostics, routefile.Diagnostic{
				File: p.File.Path, Severity: routefile.Information, Code: routefile.CodeShadowed,
				Message: fmt.Sprintf("%s go to %s:%d:%d (%s), not to this block", what, l.File.Path, start.Line, start.Col, l.Loc.Label()),
				Range:   p.Loc.Directive.HeaderRange(),
				Related: []routefile.Related{{File: l.File.Path, Range: l.Loc.Directive.HeaderRange(), Message: "takes " + what}},
			})
		}
	}
}

// reportUnreachableRegexes warns about regex locations that can never take
// a request: every path they match starts with a literal prefix whose
// longest prefix location is a ^~ one, which skips the regex search, and no
// plain prefix location lies under that prefix to give the regexes another
// chance. The classic case is ~ ^/app/_next/(.+)$ next to ^~ /app/.
func (t *RouteTable) reportUnreachableRegexes() {
	var plain []string // specs of active plain prefix locations, sorted
	for _, b := range t.Blocks {
		if b.Active && b.Loc.Modifier == routefile.ModPrefix {
			plain = append(plain, b.Loc.Spec)
		}
	}
	sort.Strings(plain)
	for _, l := range t.regexes.all {
		re := l.Loc.Regex
		if !re.Anchored || re.PrefixFold || !strings.HasPrefix(re.Prefix, "/") {
			continue
		}
		chain := prefixesOf(t.tree, re.Prefix)
		if len(chain) == 0 {
			continue
		}
		stop := chain[len(chain)-1]
		if stop.Loc.Modifier != routefile.ModNoRegex {
			continue
		}
		// A plain prefix location longer than the ^~ one and under the
		// regex's prefix would make the regexes run for its paths.
		i := sort.SearchStrings(plain, re.Prefix)
		if i < len(plain) && strings.HasPrefix(plain[i], re.Prefix) {
			continue
		}
		start := stop.Loc.Directive.Range.Start
		t.Diagnostics = append(t.Diagnostics, routefile.Diagnostic{
			File: l.File.Path, Severity: routefile.Warning, Code: routefile.CodeShadowed,
			Message: fmt.Sprintf("regex %s can never match: every path it matches starts with %s, and location %s in %s:%d:%d stops the regex search for those paths; use a longer ^~ location, or drop the ^~",
				l.Loc.Spec, re.Prefix, stop.Loc.Label(), stop.File.Path, start.Line, start.Col),
			Range:   l.Loc.Directive.HeaderRange(),
			Related: []routefile.Related{{File: stop.File.Path, Range: stop.Loc.Directive.HeaderRange(), Message: "takes every path under " + stop.Loc.Spec + " without checking regexes"}},
			Tags:    []routefile.Tag{routefile.TagUnnecessary},
		})
	}
}

// checkErrorPages reports error_page targets that name a missing location.
func (t *RouteTable) checkErrorPages() {
	for _, b := range t.Blocks {
		if !b.Active {
			continue
		}
		for _, ep := range b.Loc.ErrorPages {
			if strings.HasPrefix(ep.Target, "@") && t.namedFor(b, ep.Target) == nil {
				t.Diagnostics = append(t.Diagnostics, routefile.Diagnostic{
					File: b.File.Path, Severity: routefile.Warning, Code: routefile.CodeInvalidValue,
					Message: fmt.Sprintf("error_page target %s: no active location %s in any route file", ep.Target, ep.Target),
					Range:   ep.Range,
				})
			}
		}
	}
}

// namedFor finds the named location an error_page in b refers to,
// preferring one in b's own file.
func (t *RouteTable) namedFor(b *Block, name string) *Block {
	cands := t.named[name]
	for _, c := range cands {
		if c.File == b.File {
			return c
		}
	}
	if len(cands) > 0 {
		return cands[0]
	}
	return nil
}

func sortDiagnostics(ds []routefile.Diagnostic) {
	// Sort positions rather than the (large) values, then permute once.
	order := make([]int32, len(ds))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &ds[i], &ds[j]
		return cmp.Or(
			strings.Compare(a.File, b.File),
			cmp.Compare(a.Range.Start.Line, b.Range.Start.Line),
			cmp.Compare(a.Range.Start.Col, b.Range.Start.Col),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(i, j)) // stable
	})
	sorted := make([]routefile.Diagnostic, len(ds))
	for k, i := range order {
		sorted[k] = ds[i]
	}
	copy(ds, sorted)
}

// FileByPath returns the file with the given display path.
func (t *RouteTable) FileByPath(p string) *SourceFile {
	for _, f := range t.Files {
		if f.Path == p {
			return f
		}
	}
	return nil
}

// ErrorCount counts error diagnostics.
func (t *RouteTable) ErrorCount() int {
	n := 0
	for _, d := range t.Diagnostics {
		if d.Severity == routefile.Error {
			n++
		}
	}
	return n
}
