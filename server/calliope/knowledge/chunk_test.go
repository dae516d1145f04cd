package knowledge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitDocFollowsHeadings(t *testing.T) {
	md := `# Vite

Intro to Vite.

## Base path

Set base.

### Under a prefix

Use /web/.

#### Details stay inside

More.

` + "```sh\n# not a heading\n```" + `

## Empty section

## HMR

Sockets.
`
	chunks := SplitDoc(Doc{Path: "docs/guides/vite.md", Text: md})
	want := []struct{ heading, starts string }{
		{"Vite", "# Vite"},
		{"Vite > Base path", "## Base path"},
		{"Vite > Base path > Under a prefix", "### Under a prefix"},
		{"Vite > HMR", "## HMR"},
	}
	if len(chunks) != len(want) {
		for _, c := range chunks {
			t.Logf("%q: %q", c.Heading, c.Text)
		}
		t.Fatalf("%d chunks, want %d", len(chunks), len(want))
	}
	for i, w := range want {
		c := chunks[i]
		if c.Heading != w.heading || !strings.HasPrefix(c.Text, w.starts) {
			t.Errorf("chunk %d: heading %q, text %q; want %q starting %q", i, c.Heading, c.Text, w.heading, w.starts)
		}
		if c.Doc != "docs/guides/vite.md" || c.ID != fmt.Sprintf("docs/guides/vite.md#%d", i) {
			t.Errorf("chunk %d: doc %q id %q", i, c.Doc, c.ID)
		}
		sum := sha256.Sum256([]byte(c.Text))
		if c.Hash != hex.EncodeToString(sum[:]) {
			t.Errorf("chunk %d: hash %s is not the sha256 of its text", i, c.Hash)
		}
	}
	// H4 and a "#" line in a code fence stay in their H3's chunk.
	if !strings.Contains(chunks[2].Text, "#### Details stay inside") || !strings.Contains(chunks[2].Text, "# not a heading") {
		t.Errorf("H3 chunk lost its H4 or its code: %q", chunks[2].Text)
	}
}

func TestSplitDocLongSectionOverlaps(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Guide\n\n## Long\n\n")
	for i := range 20 {
		fmt.Fprintf(&b, "Paragraph %d says something useful about routing requests through the proxy, with enough words to count.\n\n", i)
	}
	chunks := SplitDoc(Doc{Path: "g.md", Text: b.String()})
	if len(chunks) < 2 {
		t.Fatalf("%d chunks for a %d-byte section, want several", len(chunks), b.Len())
	}
	for i, c := range chunks {
		if len(c.Text) > maxChunk {
			t.Errorf("chunk %d is %d bytes, over %d", i, len(c.Text), maxChunk)
		}
		if c.Heading != "Guide > Long" {
			t.Errorf("chunk %d heading %q", i, c.Heading)
		}
		if i == 0 {
			continue
		}
		// The chunk starts with the previous one's last paragraph.
		prev := chunks[i-1].Text
		last := prev[strings.LastIndex(prev, "\n\n")+2:]
		if !strings.HasPrefix(c.Text, last) {
			t.Errorf("chunk %d does not start with the previous chunk's last paragraph %q:\n%s", i, last, c.Text)
		}
		if len(last) > 2*overlapChunk {
			t.Errorf("overlap of %d bytes", len(last))
		}
	}
	// Every paragraph is somewhere.
	all := ""
	for _, c := range chunks {
		all += c.Text + "\n"
	}
	for i := range 20 {
		if !strings.Contains(all, fmt.Sprintf("Paragraph %d says", i)) {
			t.Errorf("paragraph %d lost", i)
		}
	}
}

func TestSplitDocHugeParagraphAndLine(t *testing.T) {
	code := "```\n" + strings.Repeat("location /x/ { proxy_pass http://127.0.0.1:3000/; }\n", 60) + "```"
	line := strings.Repeat("wörd ", 600) // one 3,600-byte line
	chunks := SplitDoc(Doc{Path: "h.md", Text: "## Big\n\n" + code + "\n\n" + line + "\n\n" + strings.Repeat("é", 2000)})
	total := 0
	for i, c := range chunks {
		if len(c.Text) > maxChunk {
			t.Errorf("chunk %d is %d bytes", i, len(c.Text))
		}
		if !utf8.ValidString(c.Text) {
			t.Errorf("chunk %d is not valid UTF-8", i)
		}
		total += len(c.Text)
	}
	if total < len(code)+len(line) {
		t.Errorf("chunks hold %d bytes, less than the input", total)
	}
}

func TestHeadingLine(t *testing.T) {
	for _, tc := range []struct {
		line  string
		level int
		title string
	}{
		{"# Title", 1, "Title"},
		{"### Deep ###", 3, "Deep"},
		{"   ## Indented", 2, "Indented"},
		{"#### Four", 0, ""},
		{"#hashtag", 0, ""},
		{"##", 0, ""},
		{"## C# notes", 2, "C# notes"},
	} {
		level, title := headingLine(tc.line)
		if level != tc.level || title != tc.title {
			t.Errorf("headingLine(%q) = %d %q, want %d %q", tc.line, level, title, tc.level, tc.title)
		}
	}
}

func TestTokenize(t *testing.T) {
	got := strings.Join(tokenize("Set basePath for the Routes, routing WebSocket"), " ")
	want := "set basepath base path rout rout websocket web socket"
	if got != want {
		t.Errorf("tokenize = %q, want %q", got, want)
	}
}

// TestSplitDocCutsListsBetweenItems: a long list is cut before an item, not
// inside one.
func TestSplitDocCutsListsBetweenItems(t *testing.T) {
	var b strings.Builder
	b.WriteString("## Codes\n\n")
	for i := range 12 {
		fmt.Fprintf(&b, "- **%d**: the upstream could not answer, for a reason\n  explained on this second line of the item.\n", 500+i)
	}
	chunks := SplitDoc(Doc{Path: "l.md", Text: b.String()})
	if len(chunks) < 2 {
		t.Fatalf("%d chunks", len(chunks))
	}
	for i, c := range chunks[1:] {
		if !strings.HasPrefix(c.Text, "- **") {
			t.Errorf("chunk %d starts inside a list item: %q", i+1, c.Text[:40])
		}
	}
}
