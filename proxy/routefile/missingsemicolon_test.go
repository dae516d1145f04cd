package routefile_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// TestMissingSemicolon: a directive whose ';' is missing at the end of its
// line, so that the next line's directive reads as its arguments, is one
// error at the end of its last token, and the findings that follow from
// the merged statement (argument count, no proxy_pass) are not made. The
// file still does not load.
func TestMissingSemicolon(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
		directive []string // the directives of the first block, as parsed
	}{
		{"proxy_pass", "location /a/ {\n    proxy_pass http://a:1\n    proxy_set_header Host x;\n}\n",
			[]string{"2:26 error missing-semicolon missing ';' at the end of proxy_pass"},
			[]string{"proxy_pass http://a:1", "proxy_set_header Host x"}},
		{"two missing", "location /a/ {\n    set $a 1\n    proxy_set_header X $a\n    proxy_pass http://h:1;\n}\n",
			[]string{"2:13 error missing-semicolon missing ';' at the end of set", "3:26 error missing-semicolon missing ';' at the end of proxy_set_header"},
			[]string{"set $a 1", "proxy_set_header X $a", "proxy_pass http://h:1"}},
		{"before the brace", "location /a/ {\n    proxy_pass http://a:1\n    proxy_read_timeout 5s\n}\n",
			[]string{"2:26 error missing-semicolon missing ';' at the end of proxy_pass", "3:26 error syntax missing ';' after \"proxy_read_timeout 5s\""},
			[]string{"proxy_pass http://a:1", "proxy_read_timeout 5s"}},
		// A valid continuation line stays one directive: rewrite's flag
		// "break" is a directive's name too.
		{"flag on the next line", "location /a/ {\n    rewrite ^/a/(.*)$ /$1\n        break;\n    proxy_pass http://a:1;\n}\n",
			nil, []string{"rewrite ^/a/(.*)$ /$1 break", "proxy_pass http://a:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := routefile.Parse("apps/a.conf", []byte(tc.src))
			var got []string
			for _, d := range f.Diagnostics {
				got = append(got, fmt.Sprintf("%s %s %s %s", d.Range.Start, d.Severity, d.Code, d.Message))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("diagnostics:\n%q\nwant\n%q", got, tc.want)
			}
			if f.OK != (len(tc.want) == 0) {
				t.Errorf("OK = %v", f.OK)
			}
			var ds []string
			for _, d := range f.Directives[0].Block.Directives {
				s := d.Name.Value
				for _, a := range d.ArgValues() {
					s += " " + a
				}
				ds = append(ds, s)
			}
			if !slices.Equal(ds, tc.directive) {
				t.Errorf("directives: %q, want %q", ds, tc.directive)
			}
		})
	}
}
