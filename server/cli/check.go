// Package cli implements devproxy's command-line reports on top of the
// route engine: `devproxy check` and `devproxy explain`. Flag parsing lives
// in cmd/devproxy; this package turns engine values into output.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Exit codes shared by the commands.
const (
	ExitOK    = 0
	ExitFail  = 1 // errors found (or warnings under --strict)
	ExitUsage = 2 // bad usage
)

// CheckOptions are the flags of `devproxy check`.
type CheckOptions struct {
	Root   string
	Format string // "text" or "json"
	Strict bool
	Env    string // --env: the environment profile of devproxy.json to apply
}

// CheckReport is the JSON document of `devproxy check --format json`
// (schemas/check.schema.json): the engine's report (files, routes,
// conflicts; the same as /routes.json's) and the findings.
type CheckReport struct {
	Root string `json:"root"`
	routing.Report
	Diagnostics []routefile.Diagnostic `json:"diagnostics"`
}

// NewCheckReport converts a table into the report.
func NewCheckReport(t *routing.RouteTable) CheckReport {
	r := CheckReport{Root: t.Root, Report: t.Report(), Diagnostics: t.Diagnostics}
	if r.Diagnostics == nil {
		r.Diagnostics = []routefile.Diagnostic{}
	}
	return r
}

// RunCheck reads the workspace and prints its findings. It returns the exit
// code.
func RunCheck(opts CheckOptions, stdout, stderr io.Writer) int {
	ws, err := openWorkspace(opts.Root, opts.Env)
	if err != nil {
		fmt.Fprintf(stderr, "devproxy check: %v\n", err)
		return ExitUsage
	}
	t := ws.Table()
	errors, warnings := 0, 0
	for _, d := range t.Diagnostics {
		switch d.Severity {
		case routefile.Error:
			errors++
		case routefile.Warning:
			warnings++
		}
	}
	switch opts.Format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(NewCheckReport(t)); err != nil {
			fmt.Fprintf(stderr, "devproxy check: %v\n", err)
			return ExitFail
		}
	default:
		WriteDiagnosticsText(stdout, t.Diagnostics)
		fmt.Fprintln(stdout, summary(t, errors, warnings))
		if len(t.Files) == 0 {
			// Most often the command ran in the wrong folder: say where
			// it looked. (The JSON report says it with "root" and an
			// empty "files".)
			fmt.Fprintf(stdout, "No route files in %s; looked for %s. Is --root right?\n", t.Root, lookedFor(t))
		}
	}
	if errors > 0 || (opts.Strict && warnings > 0) {
		return ExitFail
	}
	return ExitOK
}

// lookedFor names the globs route files are read from, under the
// absolute root: "/src/shop/apps/*.conf and /src/shop/overrides/*.conf".
func lookedFor(t *routing.RouteTable) string {
	var globs []string
	for _, g := range append(slices.Clone(t.Config.Apps), t.Config.Overrides...) {
		globs = append(globs, filepath.Join(t.Root, filepath.FromSlash(g)))
	}
	return joinAnd(globs)
}

// joinAnd lists items in words: "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// WriteDiagnosticsText prints diagnostics like a compiler, one per line,
// with related locations indented below.
func WriteDiagnosticsText(w io.Writer, diags []routefile.Diagnostic) {
	for _, d := range diags {
		fmt.Fprintln(w, d.String())
		for _, r := range d.Related {
			fmt.Fprintf(w, "    %s:%d:%d: note: %s\n", r.File, r.Range.Start.Line, r.Range.Start.Col, r.Message)
		}
	}
}

func summary(t *routing.RouteTable, errors, warnings int) string {
	active, failed, skipped := 0, []string{}, []string{}
	for _, b := range t.Blocks {
		if b.Active {
			active++
		}
	}
	for _, f := range t.Files {
		switch {
		case f.Parsed.OK:
		case hasError(f.Parsed.Diagnostics):
			failed = append(failed, f.Path)
		default: // not read at all, such as a link that leads outside the workspace
			skipped = append(skipped, f.Path)
		}
	}
	s := fmt.Sprintf("%s, %s in %s; %d of %d locations active",
		plural(errors, "error"), plural(warnings, "warning"), plural(len(t.Files), "route file"), active, len(t.Blocks))
	if len(failed) > 0 {
		s += fmt.Sprintf("; not loaded (fix the errors): %s", strings.Join(failed, ", "))
	}
	if len(skipped) > 0 {
		s += fmt.Sprintf("; skipped: %s", strings.Join(skipped, ", "))
	}
	return s
}

func hasError(diags []routefile.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == routefile.Error {
			return true
		}
	}
	return false
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
