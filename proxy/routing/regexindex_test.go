package routing

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// TestRegexIndexAgreesWithLinearScan checks the regex index against the
// definition it optimises: the first regex, in composed order, that
// matches.
func TestRegexIndexAgreesWithLinearScan(t *testing.T) {
	pool := []string{`~ ^/app/(.*)$`, `~* ^/APP/x`, `~ \.(js|css)$`, `~ /b/`, `~ ^/a`, `~* ^/A/b/`,
		`~ ^/app`, `~ ^/api/v1/`, `~* \.PNG$`, `~ ^/(app|api)/`, `~ ^/x-y/(\d+)$`, `~ ^/App/`, `~* ^/api/`}
	paths := []string{"/app/x.js", "/APP/x", "/app", "/App/y", "/api/v1/z.css", "/a/b/c", "/A/B/c.png", "/b/", "/x-y/42",
		"/apple", "/api/", "/Api/v1/", "/zzz.css", "/", "/a"}
	r := rand.New(rand.NewSource(7))
	for round := 0; round < 300; round++ {
		var src strings.Builder
		n := 1 + r.Intn(len(pool))
		for _, i := range r.Perm(len(pool))[:n] {
			fmt.Fprintf(&src, "location %s { return 204; }\n", pool[i])
		}
		f := routefile.Parse("apps/r.conf", []byte(src.String()))
		var blocks []*Block
		for i, l := range f.Locations {
			blocks = append(blocks, &Block{Loc: l, Order: i, Active: true})
		}
		ix := newRegexIndex(blocks)
		for _, p := range paths {
			var want *Block
			for _, b := range blocks {
				if b.Loc.Regex.MatchString(p) {
					want = b
					break
				}
			}
			if got := ix.first(p); got != want {
				t.Fatalf("round %d, %s:\n%s\nindex picked %v, the linear scan %v", round, p, src.String(), label(got), label(want))
			}
		}
	}
}

func label(b *Block) string {
	if b == nil {
		return "none"
	}
	return b.Loc.Label()
}
