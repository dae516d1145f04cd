package knowledge

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Chunk sizes, in bytes of Markdown. A section longer than maxChunk is cut
// at paragraph boundaries into pieces of at most maxChunk, each (after the
// first) starting with about overlapChunk of the previous piece's end, so a
// sentence that answers a question is never only half in a chunk.
const (
	maxChunk     = 1200
	overlapChunk = 200
)

// SplitDoc cuts a Markdown document into chunks that follow its headings:
// every H1, H2 or H3 starts a section (H4 and deeper stay inside theirs),
// each chunk keeps the path of headings above it ("Vite under a path prefix >
// How do I set Vite's base path?"), and a long section is split at paragraph
// boundaries with overlap. A "#" inside a fenced code block is code, not a
// heading. Sections with no text besides their heading are dropped.
// Chunk IDs are "<doc path>#<n>", n counting from 0 in document order.
func SplitDoc(doc Doc) []Chunk {
	var chunks []Chunk
	for _, sec := range sections(doc.Text) {
		for _, text := range splitSection(sec.text) {
			chunks = append(chunks, Chunk{
				ID:      doc.Path + "#" + strconv.Itoa(len(chunks)),
				Doc:     doc.Path,
				Heading: sec.heading,
				Text:    text,
				Hash:    hashText(text),
			})
		}
	}
	return chunks
}

func hashText(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

type section struct {
	heading string // "H1 > H2 > H3"
	text    string // the heading line and its body, trimmed
}

func sections(md string) []section {
	var (
		out     []section
		path    [3]string // titles of the current H1, H2, H3
		cur     strings.Builder
		fence   string // the open code fence ("```" or "~~~"), or ""
		heading string
	)
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" || !hasBody(text) {
			return
		}
		out = append(out, section{heading: heading, text: text})
	}
	for _, line := range strings.SplitAfter(md, "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			cur.WriteString(line)
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			cur.WriteString(line)
			continue
		}
		if level, title := headingLine(line); level > 0 {
			flush()
			path[level-1] = title
			for i := level; i < len(path); i++ {
				path[i] = ""
			}
			heading = joinPath(path[:])
		}
		cur.WriteString(line)
	}
	flush()
	return out
}

// hasBody reports whether a section holds more than its heading line.
func hasBody(text string) bool {
	first, rest, _ := strings.Cut(text, "\n")
	if level, _ := headingLine(first); level == 0 {
		return true
	}
	return strings.TrimSpace(rest) != ""
}

// headingLine returns the level (1-3) and title of an ATX heading, or 0.
// Headings may be indented by up to three spaces, as in CommonMark.
func headingLine(line string) (int, string) {
	line = strings.TrimRight(line, "\r\n")
	s := line
	for i := 0; i < 3 && strings.HasPrefix(s, " "); i++ {
		s = s[1:]
	}
	level := 0
	for level < len(s) && s[level] == '#' {
		level++
	}
	if level == 0 || level > 3 {
		return 0, ""
	}
	rest := s[level:]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return 0, "" // "#hashtag", not a heading
	}
	title := strings.TrimSpace(rest)
	// A closing sequence of #s ("## Title ##") is not part of the title.
	if t := strings.TrimRight(title, "#"); t != title && (t == "" || strings.HasSuffix(t, " ")) {
		title = strings.TrimSpace(t)
	}
	if title == "" {
		return 0, ""
	}
	return level, title
}

func joinPath(path []string) string {
	var parts []string
	for _, p := range path {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " > ")
}

// splitSection cuts a section into pieces of at most maxChunk bytes. It packs
// whole paragraphs (a fenced code block is one paragraph); a paragraph longer
// than maxChunk is cut at line ends, and a line longer than that at the last
// space before the limit. Each piece after the first starts with the
// previous piece's last paragraph when that is at most 2*overlapChunk long,
// else with its last lines up to overlapChunk.
func splitSection(text string) []string {
	if len(text) <= maxChunk {
		return []string{text}
	}
	var units []string
	for _, p := range paragraphs(text) {
		units = append(units, cutLong(p, maxChunk)...)
	}
	var (
		out []string
		cur []string
		n   int // bytes in cur, with the "\n\n" between units
	)
	size := func(u string) int {
		if len(cur) == 0 {
			return len(u)
		}
		return n + 2 + len(u)
	}
	for _, u := range units {
		if len(cur) > 0 && size(u) > maxChunk {
			out = append(out, strings.Join(cur, "\n\n"))
			tail := overlapTail(cur[len(cur)-1])
			cur, n = nil, 0
			if tail != "" && len(tail)+2+len(u) <= maxChunk {
				cur, n = []string{tail}, len(tail)
			}
		}
		n = size(u)
		cur = append(cur, u)
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, "\n\n"))
	}
	return out
}

// overlapTail is what the next chunk repeats of a chunk's last paragraph.
func overlapTail(p string) string {
	if len(p) <= 2*overlapChunk {
		return p
	}
	lines := strings.Split(p, "\n")
	tail := ""
	for i := len(lines) - 1; i > 0; i-- {
		t := strings.Join(lines[i:], "\n")
		if len(t) > overlapChunk {
			break
		}
		tail = t
	}
	if tail == "" {
		// One long line: repeat its last sentences, starting after a ". ".
		cut := p[len(p)-overlapChunk:]
		if i := strings.Index(cut, ". "); i >= 0 {
			tail = cut[i+2:]
		}
	}
	return strings.TrimSpace(tail)
}

// paragraphs splits Markdown at blank lines, keeping fenced code blocks whole.
func paragraphs(text string) []string {
	var (
		out   []string
		cur   []string
		fence string
	)
	flush := func() {
		if p := strings.TrimSpace(strings.Join(cur, "\n")); p != "" {
			out = append(out, p)
		}
		cur = nil
	}
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case fence != "":
			cur = append(cur, line)
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
				flush()
			}
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			flush()
			fence = trimmed[:3]
			cur = append(cur, line)
		case trimmed == "":
			flush()
		default:
			cur = append(cur, line)
		}
	}
	flush()
	return out
}

// cutLong cuts a paragraph longer than limit, preferring the start of a
// list item or table row, then any line end; a line longer than limit is cut
// at its last space before the limit (or, with no space, at the limit,
// backing off to a UTF-8 boundary).
func cutLong(p string, limit int) []string {
	if len(p) <= limit {
		return []string{p}
	}
	var items []string // list items, each with its continuation lines
	for _, line := range strings.Split(p, "\n") {
		if len(items) == 0 || startsItem(line) {
			items = append(items, line)
		} else {
			items[len(items)-1] += "\n" + line
		}
	}
	var out []string
	cur := ""
	for _, item := range items {
		pieces := []string{item}
		if len(item) > limit {
			pieces = cutLines(item, limit)
		}
		for _, piece := range pieces {
			switch {
			case cur == "":
				cur = piece
			case len(cur)+1+len(piece) <= limit:
				cur += "\n" + piece
			default:
				out = append(out, cur)
				cur = piece
			}
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// startsItem reports whether a line starts a Markdown list item or a table row.
func startsItem(line string) bool {
	t := strings.TrimLeft(line, " ")
	if strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* ") || strings.HasPrefix(t, "+ ") || strings.HasPrefix(t, "|") {
		return true
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(t) && (t[i] == '.' || t[i] == ')') && t[i+1] == ' '
}

// cutLines packs whole lines into pieces of at most limit bytes, cutting a
// longer line at its last space before the limit.
func cutLines(p string, limit int) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(p, "\n") {
		for len(line) > limit {
			if cur != "" {
				out = append(out, cur)
				cur = ""
			}
			cut := strings.LastIndexByte(line[:limit], ' ')
			if cut <= 0 {
				cut = limit
				for cut > 0 && !utf8Start(line[cut]) {
					cut--
				}
			}
			out = append(out, strings.TrimRight(line[:cut], " "))
			line = strings.TrimLeft(line[cut:], " ")
		}
		switch {
		case cur == "":
			cur = line
		case len(cur)+1+len(line) <= limit:
			cur += "\n" + line
		default:
			out = append(out, cur)
			cur = line
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
