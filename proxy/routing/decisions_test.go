package routing_test

import (
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// TestInactiveReasons composes one workspace with a block inactive for each
// reason, and checks the code each block carries and the English made from
// it (decisions.go).
func TestInactiveReasons(t *testing.T) {
	tbl := compose(
		src("apps/new.conf", t0.Add(time.Hour), "location /api/ { return 200 new; }\n"+
			"location ~ ^/x/(.*)$ { return 200 new; }\n"),
		src("apps/old.conf", t0, "location /api/ { return 200 old; }\n"+
			"location /dup/ { return 200 a; }\n"+
			"location ^~ /dup/ { return 200 b; }\n"+
			"location /devproxy/x/ { return 200 c; }\n"+
			"location ~ ^/x/(.*)$ { return 200 old; }\n"),
	)
	type key struct {
		file string
		line int
	}
	want := map[key]struct {
		code     routing.InactiveReason
		sentence string
	}{
		{"apps/old.conf", 1}: {routing.InactiveLostConflict, "apps/new.conf wins /api/ (newest)"},
		{"apps/old.conf", 3}: {routing.InactiveDuplicate, "duplicate of the block on line 2"},
		{"apps/old.conf", 4}: {routing.InactiveReserved, "reserved path"},
		{"apps/old.conf", 5}: {routing.InactiveShadowedByEarlier, "apps/new.conf:2 (~ ^/x/(.*)$) comes first in composed order"},
	}
	seen := map[routing.InactiveReason]bool{}
	for _, b := range tbl.Blocks {
		w, inactive := want[key{b.File.Path, b.Loc.Line()}]
		if b.Active == inactive {
			t.Errorf("%s: active = %v (%s)", b.Label(), b.Active, b.Inactive)
			continue
		}
		if !inactive {
			if b.Inactive != "" || b.InactiveSentence() != "" {
				t.Errorf("%s is active but says %q, %q", b.Label(), b.Inactive, b.InactiveSentence())
			}
			continue
		}
		seen[b.Inactive] = true
		if b.Inactive != w.code || b.InactiveSentence() != w.sentence {
			t.Errorf("%s: %s, %q; want %s, %q", b.Label(), b.Inactive, b.InactiveSentence(), w.code, w.sentence)
		}
	}
	for _, r := range routing.InactiveReasons {
		if !seen[r] {
			t.Errorf("no block is inactive with %s; the workspace no longer covers every reason", r)
		}
	}
}

// TestSettlementWords: the English of every settlement, and which ones
// someone chose.
func TestSettlementWords(t *testing.T) {
	for s, want := range map[routing.Settlement]struct {
		phrase string
		chosen bool
	}{
		routing.SettledByOverride:           {"override", true},
		routing.SettledByPin:                {"pinned in .devproxy/resolutions.json", true},
		routing.SettledByNewest:             {"newest", false},
		routing.SettledBySameAgeFirstByPath: {"same age, first by path", false},
	} {
		if s.Phrase() != want.phrase || s.Chosen() != want.chosen {
			t.Errorf("%s: %q, chosen %v; want %q, %v", s, s.Phrase(), s.Chosen(), want.phrase, want.chosen)
		}
		// Only a settlement by age tells how to settle it.
		if advice := s.Advice(); (advice != "") == want.chosen {
			t.Errorf("%s: advice %q, chosen %v", s, advice, want.chosen)
		}
	}
	if len(routing.Settlements) != 4 {
		t.Errorf("Settlements = %v; a new settlement needs its words here and in the schemas", routing.Settlements)
	}
}
