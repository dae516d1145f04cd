package heal

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Positions are LSP's: 0-based lines, UTF-16 characters; offsets are
// bytes of the same text.
func TestEditPositionsAreUTF16(t *testing.T) {
	src := []byte("# café 😀 x\nlocation /a/ { proxy_pass http://h:1; }\n")
	off := len("# café 😀 ")
	e := insertAt(src, off, "y")
	if e.Range.Start != (Position{Line: 0, Character: 10}) || e.StartOffset != off {
		t.Errorf("insertion %+v", e)
	}
	f := routefile.Parse("apps/a.conf", src)
	pp := f.Locations[0].Directive.Block.Directives[0].Args[0]
	r := replaceRange(pp.Range, "http://h:2")
	if r.Range.Start != (Position{Line: 1, Character: 26}) || r.Range.End != (Position{Line: 1, Character: 36}) {
		t.Errorf("replacement %+v", r.Range)
	}
	out, err := Apply(src, []TextEdit{r, e})
	if err != nil {
		t.Fatal(err)
	}
	if want := "# café 😀 yx\nlocation /a/ { proxy_pass http://h:2; }\n"; string(out) != want {
		t.Errorf("applied:\n%s\nwant:\n%s", out, want)
	}
	if _, err := Apply(src, []TextEdit{r, r}); err == nil {
		t.Error("overlapping edits were applied")
	}
}

// Each framework's base-path setting, with the route's prefix.
func TestAppBaseChangePerFramework(t *testing.T) {
	for _, c := range []struct{ fw, file, snippet string }{
		{"next", "next.config.js", "basePath: '/shop',\n  assetPrefix: '/shop',"},
		{"vite", "vite.config.js", "base: '/shop/',"},
		{"cra", "package.json", `"homepage": "/shop",`},
		{"storybook", ".storybook/main.js", "base: '/shop/',"},
		{"", "the app's build configuration", "/shop"},
	} {
		a := appBaseChange(c.fw, "/shop/")
		if a.File != c.file || !strings.Contains(a.Snippet, c.snippet) || a.Description == "" {
			t.Errorf("%q: %+v", c.fw, a)
		}
	}
}

// A Fix marshals to the wire shape of docs/calliope.md: title, pattern,
// edit.changes (by path here; the server makes them URIs) of range and
// newText, appChange with file, description, snippet.
func TestFixJSONShape(t *testing.T) {
	src := []byte("location /a { proxy_pass http://h:1/; }\n")
	fix := Fix{Title: "t", Pattern: SlashPitfall, Edit: &Edit{Changes: map[string][]TextEdit{"apps/a.conf": {insertAt(src, 11, "/")}}},
		AppChange: &AppChange{File: "f", Description: "d", Snippet: "s"}}
	b, err := json.Marshal(fix)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"title":"t","pattern":"slash-pitfall","edit":{"changes":{"apps/a.conf":[{"range":{"start":{"line":0,"character":11},"end":{"line":0,"character":11}},"newText":"/"}]}},"appChange":{"file":"f","description":"d","snippet":"s"},"verified":false,"why":""}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
