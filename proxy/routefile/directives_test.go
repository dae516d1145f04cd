package routefile_test

import (
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// TestDirectivesDescribed: every directive of the contract has a
// signature and a one-line description for editors.
func TestDirectivesDescribed(t *testing.T) {
	for _, d := range routefile.Directives() {
		if d.Signature == "" || d.Nginx == "" || !strings.HasPrefix(d.Signature, d.Name) {
			t.Errorf("%s: signature %q, description %q", d.Name, d.Signature, d.Nginx)
		}
	}
	if d, ok := routefile.DirectiveByName("gzip"); !ok || !d.Ignored {
		t.Errorf("gzip: %+v", d)
	}
	if _, ok := routefile.DirectiveByName("gzipp"); ok {
		t.Error("gzipp is described")
	}
}
