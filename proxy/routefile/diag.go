package routefile

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity orders findings like LSP does: Error is the most severe.
type Severity int

const (
	Error Severity = iota + 1
	Warning
	Information
	Hint
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	case Information:
		return "information"
	case Hint:
		return "hint"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads the names MarshalJSON writes, so reports round-trip.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	for _, v := range []Severity{Error, Warning, Information, Hint} {
		if v.String() == name {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", name)
}

// Diagnostic codes. They are stable identifiers that tools (the LSP quick
// fixes, `devproxy check --format json` consumers) can switch on.
const (
	CodeSyntax           = "syntax"            // tokens or braces that do not form a file
	CodeMissingSemicolon = "missing-semicolon" // a directive's ';' missing at the end of its line
	CodeTooLarge         = "file-too-large"    // the file is over MaxFileSize
	CodeEncoding         = "encoding"          // invalid UTF-8 (nginx does not care; editors do)
	CodeTopLevel         = "top-level"         // a statement outside location blocks: not applied
	CodeUnknownDirective = "unknown-directive" // nginx does not know it either
	CodeIgnored          = "ignored-directive" // nginx knows it; devproxy does not implement it
	CodeNoEffect         = "no-effect"         // accepted, but changes nothing in devproxy
	CodeArguments        = "arguments"         // wrong number of arguments
	CodeInvalidValue     = "invalid-value"     // an argument nginx would reject
	CodeNested           = "nested-block"      // location or if inside a location
	CodeDuplicate        = "duplicate"         // the same location twice
	CodeRegex            = "regex"             // a regex devproxy cannot compile
	CodeVariable         = "variable"          // an unknown or unset $variable
	CodeNoHandler        = "no-handler"        // a location that answers nothing
	CodeNginxDiffers     = "nginx-differs"     // devproxy deliberately behaves unlike nginx here
	CodeConflict         = "conflict"          // the same route in two files
	CodeReserved         = "reserved"          // a path that belongs to the proxy
	CodeCatchAll         = "catch-all"         // location / takes every unmatched request
	CodeUnanchoredRegex  = "unanchored-regex"  // a regex that can take any app's requests
	CodeShadowed         = "shadowed"          // part of this prefix goes to another file
	CodeResolution       = "resolution"        // a problem in .devproxy/resolutions.json
	CodeConfig           = "config"            // a problem in devproxy.json
	CodeTooMany          = "too-many-problems" // reporting stopped for this file
	CodeTooComplex       = "too-complex"       // checking the file needs more than MaxFileWork steps
	CodeDecodedInHeader  = "decoded-in-header" // a request header carries the decoded path
	CodeRouteFolder      = "route-folder"      // a route folder that cannot be read
	CodeOutsideWorkspace = "outside-workspace" // a symbolic link that leads outside the workspace
	CodeStale            = "stale"             // the file stopped parsing; the proxy serves its last good version
	CodeSlashPitfall     = "slash-pitfall"     // location /api with proxy_pass http://u/ sends //users upstream
	CodeWebSocketHost    = "websocket-host"    // a WebSocket block sends proxy_pass's host as Host; dev servers refuse the Origin
)

// Tag marks a diagnostic for special rendering (LSP DiagnosticTag).
type Tag int

const (
	// TagUnnecessary marks code that has no effect, such as a location that
	// lost a conflict; editors grey it out.
	TagUnnecessary Tag = 1
)

// Related points at another place that explains a diagnostic, for example
// the other file that claims the same route.
type Related struct {
	File    string `json:"file"`
	Range   Range  `json:"range"`
	Message string `json:"message"`
}

// Diagnostic is one finding about a route file (or about devproxy.json or
// .devproxy/resolutions.json). File is relative to the workspace root, with
// forward slashes.
type Diagnostic struct {
	File     string    `json:"file"`
	Severity Severity  `json:"severity"`
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Range    Range     `json:"range"`
	Related  []Related `json:"related,omitempty"`
	Tags     []Tag     `json:"-"`
}

// String formats a diagnostic the way compilers do:
// "apps/a.conf:3:5: warning: message [code]".
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s [%s]", d.File, d.Range.Start.Line, d.Range.Start.Col, d.Severity, d.Message, d.Code)
}

// maxDiagnosticsPerFile bounds the report for garbage input: after this many
// problems in one file we say so once and stop adding more.
const maxDiagnosticsPerFile = 100

// diagList collects diagnostics for one file and enforces the cap.
type diagList struct {
	file  string
	items []Diagnostic
	full  bool
}

func (l *diagList) add(sev Severity, code string, r Range, format string, args ...any) *Diagnostic {
	if l.full {
		// The notice is as severe as the worst finding left out: an error
		// left out still fails the file; many hints do not.
		if last := &l.items[len(l.items)-1]; sev < last.Severity {
			last.Severity = sev
		}
		return nil
	}
	if len(l.items) >= maxDiagnosticsPerFile {
		l.full = true
		l.items = append(l.items, Diagnostic{File: l.file, Severity: min(sev, Warning), Code: CodeTooMany, Range: r,
			Message: fmt.Sprintf("more than %d problems in this file; stopped reporting", maxDiagnosticsPerFile)})
		return nil
	}
	l.items = append(l.items, Diagnostic{File: l.file, Severity: sev, Code: code, Range: r, Message: message(format, args)})
	return &l.items[len(l.items)-1]
}

// message formats a diagnostic's text. A fixed message (no arguments, or a
// string passed through "%s") is used as it is rather than copied: hints
// such as nginx-differs repeat one long constant on many blocks.
func message(format string, args []any) string {
	switch {
	case len(args) == 0 && !strings.Contains(format, "%"):
		return format
	case len(args) == 1 && format == "%s":
		if s, ok := args[0].(string); ok {
			return s
		}
	}
	return fmt.Sprintf(format, args...)
}

func (l *diagList) hasErrors() bool {
	for _, d := range l.items {
		if d.Severity == Error {
			return true
		}
	}
	return false
}
