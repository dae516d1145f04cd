package health

import (
	"strings"
)

// pageRef is an asset or hint a page references.
type pageRef struct {
	URL  string // as written in the page
	Kind string // script, style, font, wasm
}

// pageFacts is what the scanner reads from an HTML page.
type pageFacts struct {
	Refs []pageRef
	// Scripts are every script src, same-origin or not, for framework
	// detection; Inline is the text of inline scripts.
	Scripts []string
	Inline  string
}

// tag is one start tag: its lower-case name and attributes.
type tag struct {
	name  string
	attrs map[string]string
}

// parsePage reads the tags that reference assets. It is a small HTML
// tokenizer, not a parser (golang.org/x/net/html is not in go.mod): it
// skips comments, doctype and processing instructions, reads attributes
// quoted or not, and treats the contents of script, style, textarea and
// title as raw text so markup inside them is not mistaken for tags.
func parsePage(doc string) pageFacts {
	var f pageFacts
	for i := 0; i < len(doc); {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			break
		}
		i += lt
		switch {
		case strings.HasPrefix(doc[i:], "<!--"):
			end := strings.Index(doc[i+4:], "-->")
			if end < 0 {
				return f
			}
			i += 4 + end + 3
			continue
		case strings.HasPrefix(doc[i:], "<!"), strings.HasPrefix(doc[i:], "<?"), strings.HasPrefix(doc[i:], "</"):
			end := strings.IndexByte(doc[i:], '>')
			if end < 0 {
				return f
			}
			i += end + 1
			continue
		}
		t, n := readTag(doc[i:])
		if n == 0 {
			i++
			continue
		}
		i += n
		switch t.name {
		case "script":
			if src, ok := t.attrs["src"]; ok && src != "" {
				f.Scripts = append(f.Scripts, src)
				f.Refs = append(f.Refs, pageRef{src, "script"})
			}
		case "link":
			href := t.attrs["href"]
			if href == "" {
				break
			}
			for _, rel := range strings.Fields(strings.ToLower(t.attrs["rel"])) {
				switch rel {
				case "stylesheet":
					f.Refs = append(f.Refs, pageRef{href, "style"})
				case "modulepreload":
					f.Refs = append(f.Refs, pageRef{href, "script"})
				case "preload":
					switch as := strings.ToLower(t.attrs["as"]); {
					case as == "font":
						f.Refs = append(f.Refs, pageRef{href, "font"})
					case as == "script":
						f.Refs = append(f.Refs, pageRef{href, "script"})
					case as == "style":
						f.Refs = append(f.Refs, pageRef{href, "style"})
					case isWasm(href):
						f.Refs = append(f.Refs, pageRef{href, "wasm"})
					}
				}
			}
		}
		// Raw text elements: their content is not markup.
		switch t.name {
		case "script", "style", "textarea", "title":
			end := indexFold(doc[i:], "</"+t.name)
			if end < 0 {
				end = len(doc) - i
			}
			if t.name == "script" {
				f.Inline += doc[i:i+end] + "\n"
			}
			i += end
		}
	}
	// A wasm module an inline script loads by a quoted path.
	for _, s := range quoted(f.Inline) {
		if isWasm(s) {
			f.Refs = append(f.Refs, pageRef{s, "wasm"})
		}
	}
	return f
}

func isWasm(u string) bool {
	p, _, _ := strings.Cut(u, "?")
	return strings.HasSuffix(strings.ToLower(p), ".wasm")
}

// quoted returns the single- or double-quoted strings in JavaScript text
// (a rough reading, used only to find .wasm paths).
func quoted(js string) []string {
	var out []string
	for i := 0; i < len(js); i++ {
		q := js[i]
		if q != '"' && q != '\'' {
			continue
		}
		end := strings.IndexByte(js[i+1:], q)
		if end < 0 {
			break
		}
		if s := js[i+1 : i+1+end]; !strings.ContainsAny(s, "\n") {
			out = append(out, s)
		}
		i += end + 1
	}
	return out
}

func indexFold(s, sub string) int {
	return strings.Index(strings.ToLower(s), strings.ToLower(sub))
}

// readTag reads "<name attr=value ...>" at the start of s and returns it
// with the bytes consumed; n is 0 when s does not start a tag.
func readTag(s string) (t tag, n int) {
	i := 1
	start := i
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == start {
		return tag{}, 0
	}
	t = tag{name: strings.ToLower(s[start:i]), attrs: map[string]string{}}
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return t, len(s)
		}
		if s[i] == '>' {
			return t, i + 1
		}
		if s[i] == '/' {
			i++
			continue
		}
		ns := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/' {
			i++
		}
		name := strings.ToLower(s[ns:i])
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		val := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return t, len(s)
				}
				val = s[i+1 : i+1+end]
				i += end + 2
			} else {
				vs := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				val = s[vs:i]
			}
		}
		if _, dup := t.attrs[name]; name != "" && !dup { // the first wins, as in HTML
			t.attrs[name] = unescapeAttr(val)
		}
	}
	return t, len(s)
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// unescapeAttr decodes the character references that occur in URLs.
var attrEntities = strings.NewReplacer("&amp;", "&", "&quot;", `"`, "&#39;", "'", "&apos;", "'", "&lt;", "<", "&gt;", ">")

func unescapeAttr(v string) string { return attrEntities.Replace(v) }

// hmrChannel is the hot-reload WebSocket a page shows, found from what
// the page loads, never guessed: ok is false when the page shows none of
// the frameworks the scanner knows.
//
//   - Vite: a script /…/@vite/client; the client connects to the base
//     (the route's prefix) with the "vite-hmr" subprotocol.
//   - Next.js (dev): scripts under /…/_next/ with the dev-only webpack
//     runtime or react-refresh; the channel is /…/_next/webpack-hmr.
//   - Storybook (8+): the page's inline globals; the channel is
//     /…/storybook-server-channel.
//   - socket.io: a script /…/socket.io/socket.io.js; the channel is
//     /…/socket.io/?EIO=4&transport=websocket.
type hmrChannel struct {
	Framework   string
	Path        string // path (and query) on the proxy
	Subprotocol string
}

// scripts are the paths of the page's same-origin scripts; inline is the
// text of its inline scripts; prefix is the route's prefix ("" for an
// exact route).
func detectHMR(scripts []string, inline, prefix string) (hmrChannel, bool) {
	for _, p := range scripts {
		if i := strings.Index(p, "/@vite/client"); i >= 0 {
			// The client's own path holds Vite's base: /app/@vite/client
			// connects to /app/.
			return hmrChannel{"vite", p[:i+1], "vite-hmr"}, true
		}
	}
	for _, p := range scripts {
		if i := strings.Index(p, "/socket.io/socket.io"); i >= 0 {
			return hmrChannel{"socket.io", p[:i] + "/socket.io/?EIO=4&transport=websocket", ""}, true
		}
	}
	dev := strings.Contains(inline, `"buildId":"development"`)
	for _, p := range scripts {
		if strings.Contains(p, "/_next/static/chunks/webpack") || strings.Contains(p, "react-refresh") {
			dev = true
		}
	}
	if dev {
		for _, p := range scripts {
			if i := strings.Index(p, "/_next/"); i >= 0 {
				return hmrChannel{"next", p[:i] + "/_next/webpack-hmr", ""}, true
			}
		}
	}
	if strings.Contains(inline, "__STORYBOOK_") {
		base := prefix
		if base == "" {
			base = "/"
		}
		return hmrChannel{"storybook", base + "storybook-server-channel", ""}, true
	}
	return hmrChannel{}, false
}
