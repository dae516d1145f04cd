package routefile

// TokenKind says what a token is.
type TokenKind int

const (
	TokenEOF       TokenKind = iota
	TokenWord                // a bare or quoted word
	TokenSemicolon           // ;
	TokenLBrace              // {
	TokenRBrace              // }
)

// Token is one lexical element. For words, Value holds the text after
// nginx's unescaping (\" \' \\ \t \r \n); Quote is the quote character when
// the word was quoted. Range covers the source text, quotes included.
type Token struct {
	Kind  TokenKind
	Value string
	Quote byte
	Range Range
}

// lexer splits route-file source into tokens the way nginx's
// ngx_conf_read_token does: whitespace separates words, ';' '{' '}' are
// punctuation at the start of a token, '#' starts a comment only at the start
// of a token, a word ends at whitespace, ';' or '{' (but not at '}', as in
// nginx), "${" keeps the brace inside a variable name, and a backslash
// protects the next character.
type lexer struct {
	src   []byte
	off   int
	pos   *positioner
	diags *diagList
	// Comments records the range of every comment, for editors (folding,
	// toggling) and for tests that check commented-out text is ignored.
	comments []Range
}

func newLexer(src []byte, diags *diagList) *lexer {
	return &lexer{src: src, pos: newPositioner(src), diags: diags}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (lx *lexer) rng(start, end int) Range {
	return Range{Start: lx.pos.pos(start), End: lx.pos.pos(end)}
}

// next returns the next token. At the end of input it returns TokenEOF
// forever.
func (lx *lexer) next() Token {
	for {
		for lx.off < len(lx.src) && isSpace(lx.src[lx.off]) {
			lx.off++
		}
		if lx.off >= len(lx.src) {
			return Token{Kind: TokenEOF, Range: lx.rng(len(lx.src), len(lx.src))}
		}
		if lx.src[lx.off] != '#' {
			break
		}
		start := lx.off
		for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
			lx.off++
		}
		lx.comments = append(lx.comments, lx.rng(start, lx.off))
	}
	start := lx.off
	switch c := lx.src[lx.off]; c {
	case ';':
		lx.off++
		return Token{Kind: TokenSemicolon, Range: lx.rng(start, lx.off)}
	case '{':
		lx.off++
		return Token{Kind: TokenLBrace, Range: lx.rng(start, lx.off)}
	case '}':
		lx.off++
		return Token{Kind: TokenRBrace, Range: lx.rng(start, lx.off)}
	case '"', '\'':
		return lx.quoted(c)
	}
	return lx.word()
}

func (lx *lexer) word() Token {
	start := lx.off
	variable := false
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		if c == '{' && variable {
			lx.off++
			variable = false
			continue
		}
		variable = false
		if c == '\\' {
			lx.off += 2
			continue
		}
		if c == '$' {
			variable = true
			lx.off++
			continue
		}
		if isSpace(c) || c == ';' || c == '{' {
			break
		}
		lx.off++
	}
	if lx.off > len(lx.src) {
		lx.off = len(lx.src) // a trailing backslash
	}
	raw := lx.src[start:lx.off]
	return Token{Kind: TokenWord, Value: unescape(raw), Range: lx.rng(start, lx.off)}
}

func (lx *lexer) quoted(q byte) Token {
	start := lx.off
	lx.off++
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		if c == '\\' {
			lx.off += 2
			continue
		}
		if c == q {
			break
		}
		lx.off++
	}
	if lx.off >= len(lx.src) {
		lx.off = len(lx.src)
		r := lx.rng(start, lx.off)
		lx.diags.add(Error, CodeSyntax, r, "unterminated quoted string: the %c opened here is never closed", q)
		return Token{Kind: TokenWord, Value: unescape(lx.src[start+1:]), Quote: q, Range: r}
	}
	body := lx.src[start+1 : lx.off]
	lx.off++ // the closing quote
	tok := Token{Kind: TokenWord, Value: unescape(body), Quote: q, Range: lx.rng(start, lx.off)}
	// nginx requires a separator after a closing quote.
	if lx.off < len(lx.src) {
		if c := lx.src[lx.off]; !isSpace(c) && c != ';' && c != '{' && c != ')' {
			lx.diags.add(Error, CodeSyntax, lx.rng(lx.off, lx.off+1),
				"unexpected %q right after a quoted string; add a space or ';'", rune(c))
		}
	}
	return tok
}

// unescape applies nginx's escapes: \" \' and \\ lose the backslash, \t \r
// \n become control characters, and every other backslash stays (so regexes
// keep \. and \d).
func unescape(b []byte) string {
	i := 0
	for i < len(b) && b[i] != '\\' {
		i++
	}
	if i == len(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	out = append(out, b[:i]...)
	for ; i < len(b); i++ {
		c := b[i]
		if c == '\\' && i+1 < len(b) {
			switch b[i+1] {
			case '"', '\'', '\\':
				i++
				c = b[i]
			case 't':
				i++
				c = '\t'
			case 'r':
				i++
				c = '\r'
			case 'n':
				i++
				c = '\n'
			}
		}
		out = append(out, c)
	}
	return string(out)
}
