package routefile_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// TestDecodedValueInHeaderHint: $uri, $document_uri and captures carry the
// decoded path, so a header built from them carries whatever control
// characters a request path encodes (%0d%0a), and such a request gets a
// 400 instead of reaching the app. A hint on the header's value says so.
func TestDecodedValueInHeaderHint(t *testing.T) {
	pass := " proxy_pass http://127.0.0.1:1;"
	tests := []struct {
		name   string
		src    string
		value  string   // the token the hint covers; "" for no hint
		naming []string // what the message names
	}{
		{"uri", "location /a/ { proxy_set_header X-Path $uri;" + pass + " }", "$uri", []string{"X-Path", "$uri"}},
		{"document_uri", "location /a/ { proxy_set_header X-Doc \"doc:$document_uri\";" + pass + " }", "\"doc:$document_uri\"", []string{"X-Doc", "$document_uri"}},
		{"capture", "location ~ ^/a/(.*)$ { proxy_set_header X-Rest $1;" + pass + " }", "$1", []string{"X-Rest", "$1"}},
		{"named capture", "location ~ ^/a/(?<rest>.*)$ { proxy_set_header X-Rest $rest;" + pass + " }", "$rest", []string{"$rest"}},
		{"rewrite capture", "location /a/ { rewrite ^/a/(.*)$ /b/$1 break; proxy_set_header X-Rest $1;" + pass + " }", "$1", []string{"$1"}},
		{"set from uri", "location /a/ { set $p \"/x$uri\"; proxy_set_header X-P $p;" + pass + " }", "$p", []string{"$p", "$uri"}},
		{"set chain from capture", "location ~ ^/a/(.*)$ { set $a $b; set $b $1; proxy_set_header X-A $a;" + pass + " }", "$a", []string{"$a", "$1"}},
		{"raw request_uri", "location /a/ { proxy_set_header X-Orig $request_uri;" + pass + " }", "", nil},
		{"query and host", "location /a/ { proxy_set_header X-Q \"$args $arg_x $host $http_x\";" + pass + " }", "", nil},
		{"set from raw", "location /a/ { set $p $request_uri; proxy_set_header X-P $p;" + pass + " }", "", nil},
		{"capture without a regex", "location /a/ { proxy_set_header X $1;" + pass + " }", "", nil},
		{"response header", "location /a/ { add_header X-Path $uri;" + pass + " }", "", nil},
		{"set shadows a capture name", "location ~ ^/a/(?<rest>.*)$ { set $rest fixed; proxy_set_header X $rest;" + pass + " }", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(tt.src)
			hints := withCode(f.Diagnostics, routefile.CodeDecodedInHeader)
			if tt.value == "" {
				if len(hints) != 0 {
					t.Fatalf("want no hint:%s", dump(hints))
				}
				return
			}
			if len(hints) != 1 {
				t.Fatalf("want one hint:%s", dump(f.Diagnostics))
			}
			h := hints[0]
			if h.Severity != routefile.Hint {
				t.Errorf("severity %s, want hint", h.Severity)
			}
			if got := text(tt.src, h.Range); got != tt.value {
				t.Errorf("range covers %q, want the value %q", got, tt.value)
			}
			for _, want := range append(tt.naming, "%0d%0a", "400", "$request_uri") {
				if !strings.Contains(h.Message, want) {
					t.Errorf("message should mention %q: %s", want, h.Message)
				}
			}
			if !f.OK {
				t.Errorf("a hint must not stop the file from loading:%s", dump(f.Diagnostics))
			}
		})
	}
}

// TestManyHintsStillLoad: past the cap of 100 findings a file reports
// that it stopped; that notice is an error only when an error was among
// those left out, so a file with many hints keeps loading.
func TestManyHintsStillLoad(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 150; i++ {
		fmt.Fprintf(&b, "location /a%d/ { proxy_set_header X-Original-URI $uri; proxy_pass http://127.0.0.1:1; }\n", i)
	}
	f := parse(b.String())
	if !f.OK || len(f.Locations) != 150 {
		t.Fatalf("a file of 150 hints must load (%d locations):%s", len(f.Locations), dump(f.Diagnostics[len(f.Diagnostics)-1:]))
	}
	last := f.Diagnostics[len(f.Diagnostics)-1]
	if last.Code != routefile.CodeTooMany || last.Severity == routefile.Error {
		t.Errorf("want a too-many-problems notice that is not an error: %s", last)
	}
	// An error past the cap still fails the file.
	b.WriteString("location /bad/ { bogus on; }\n")
	if f := parse(b.String()); f.OK {
		t.Error("an error left out of the report must still fail the file")
	} else if last := f.Diagnostics[len(f.Diagnostics)-1]; last.Severity != routefile.Error {
		t.Errorf("the notice must be an error when an error was left out: %s", last)
	}
}
