package heal

import (
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
