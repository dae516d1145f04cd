package routefile_test

import (
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// BenchmarkRegexCheck measures what reading a regex location costs: the
// regex is parsed and checked, its literal prefix read; no program is
// built yet.
func BenchmarkRegexCheck(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := routefile.CompileRegex(`^/app7/_next/(.+)$`, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegexFirstRun measures a regex read and then run once, which
// builds its program; less BenchmarkRegexCheck, that is the one-time cost
// the first request under a regex location pays (later runs only load the
// program).
func BenchmarkRegexFirstRun(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		re, err := routefile.CompileRegex(`^/app7/_next/(.+)$`, false)
		if err != nil {
			b.Fatal(err)
		}
		if !re.MatchString("/app7/_next/static/chunks/main.js") {
			b.Fatal("no match")
		}
	}
}
