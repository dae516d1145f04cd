package httpproxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzReadRequestHead feeds arbitrary bytes to the request-head reader.
// Whatever it accepts must be safe to act on: a method of token
// characters, a target without controls or spaces, header values without
// CR, LF or NUL, names of letters, digits and '-', a validated host, and
// framing that is never ambiguous. It must never panic or read past its
// budget.
func FuzzReadRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x?y HTTP/1.0\n\n",
		"POST /p HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 3\r\n\r\nabc",
		"GET http://h:1/p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: a\r\nX_Y: 1\r\nA.B: 2\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := lineReader{br: bufio.NewReaderSize(bytes.NewReader(data), 64), budget: 4096}
		var h requestHead
		err := readRequestHead(&lr, &h)
		if err != nil {
			var we *wireError
			if errors.As(err, &we) && (we.status < 400 || we.status > 505) {
				t.Fatalf("refused with status %d", we.status)
			}
			return
		}
		if h.Method == "" || strings.IndexFunc(h.Method, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r == '_' || r == '-') }) >= 0 {
			t.Fatalf("accepted method %q", h.Method)
		}
		for i := 0; i < len(h.Target); i++ {
			if c := h.Target[i]; c <= ' ' || c == 0x7f {
				t.Fatalf("accepted target %q", h.Target)
			}
		}
		for _, f := range h.Fields {
			if !validHeaderName(f.Name) || strings.ContainsAny(f.Name, "_.") {
				t.Fatalf("kept header name %q", f.Name)
			}
			if strings.ContainsAny(f.Value, "\r\n\x00") {
				t.Fatalf("kept header value %q", f.Value)
			}
		}
		if strings.ContainsAny(h.Host, " /\r\n\x00") || strings.Contains(h.Host, "..") {
			t.Fatalf("accepted host %q", h.Host)
		}
		if h.Chunked && h.ContentLength >= 0 {
			t.Fatal("accepted both Content-Length and chunked")
		}
		if h.atLeast11() && h.HostHeader == "" && h.Host == "" {
			t.Fatal("accepted HTTP/1.1 without a host")
		}
		if h.Method == "CONNECT" || h.Method == "TRACE" {
			t.Fatalf("accepted %s", h.Method)
		}
	})
}

// FuzzChunkedReader decodes arbitrary bytes as a chunked body. It must
// never panic, never return more bytes than the input held, and report a
// clean end (io.EOF) only after a last chunk; whatever it decodes cleanly
// must re-encode to a body it decodes to the same bytes.
func FuzzChunkedReader(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"3;ext=1\nabc\n0\nTrailer: x\n\n",
		"ffffffffffffffffff\r\n",
		"5\r\nhelloXX0\r\n\r\n",
		"0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := newChunkedReader(bufio.NewReaderSize(bytes.NewReader(data), 16))
		got, err := io.ReadAll(cr)
		if len(got) > len(data) {
			t.Fatalf("decoded %d bytes from %d", len(got), len(data))
		}
		if err != nil {
			return
		}
		// A clean end: the input held a last chunk. Re-encode and decode.
		if !bytes.Contains(data, []byte("0")) {
			t.Fatalf("clean end without a last chunk in %q", data)
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		cw := chunkedWriter{w}
		cw.Write(got)
		cw.Close()
		w.Flush()
		again, err := io.ReadAll(newChunkedReader(bufio.NewReader(&buf)))
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("round trip of %q: %q, %v", got, again, err)
		}
	})
}
