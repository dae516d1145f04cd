package lsp

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// decisionsWorkspace has a block inactive for each reason and a conflict
// settled each way but the tie: a.conf wins /api/ by a pin over the newer
// b.conf; b.conf's regex comes first in composed order, so a.conf's copy
// never matches; a.conf repeats /dup/; the override wins /web/ over c.conf;
// d.conf claims a reserved path; e.conf wins /e/ over a.conf by age.
const decisionsWorkspace = `
-- .devproxy/resolutions.json --
{"/api/": "apps/a.conf"}
-- apps/a.conf --
location /api/ { proxy_pass http://127.0.0.1:5001/; }
location ~ ^/x/(.*)$ { return 204; }
location /dup/ { return 204; }
location /dup/ { return 204; }
location /e/ { return 204; }
-- apps/b.conf --
location /api/ { proxy_pass http://127.0.0.1:5002/; }
location ~ ^/x/(.*)$ { return 204; }
-- apps/c.conf --
location /web/ { return 204; }
-- apps/d.conf --
location /devproxy/d/ { return 204; }
-- apps/e.conf --
location /e/ { return 204; }
-- overrides/o.conf --
location /web/ { return 200 o; }
`

// decisionsSeen is what the server offers and reports for the workspace:
// the code action titles on every location, the routes' states
// (devproxy/routes without the words) and the words.
func decisionsSeen(t *testing.T) (actions map[string][]string, states string, words []string) {
	t.Helper()
	root := workspace(t, decisionsWorkspace)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/a.conf", "apps/b.conf")
	actions = map[string][]string{}
	for _, f := range []struct {
		rel   string
		lines int
	}{{"apps/a.conf", 5}, {"apps/b.conf", 2}, {"apps/c.conf", 1}, {"apps/d.conf", 1}, {"apps/e.conf", 1}, {"overrides/o.conf", 1}} {
		for line := range f.lines {
			var titles []string
			for _, a := range codeActions(t, c, f.rel, uint32(line)) {
				titles = append(titles, a.Title)
			}
			slices.Sort(titles)
			actions[fmt.Sprintf("%s:%d", f.rel, line+1)] = titles
		}
	}
	var rr RoutesResult
	if err := c.call("devproxy/routes", map[string]any{}, &rr); err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, r := range rr.Routes {
		code, reason := "", ""
		if r.InactiveCode != nil {
			code, reason = string(*r.InactiveCode), *r.InactiveReason
		}
		b = fmt.Appendf(b, "%s active=%v code=%s conflict=%v\n", r.ID, r.Active, code, r.Conflict != nil)
		if reason != "" {
			words = append(words, reason)
		}
	}
	for _, cr := range rr.Conflicts {
		b = fmt.Appendf(b, "conflict %s winner=%s code=%s files=%v\n", cr.Route, cr.Winner, cr.Settlement, cr.Files)
		words = append(words, cr.Reason)
	}
	return actions, string(b), words
}

// TestNothingReadsTheWords renames every sentence the engine makes from its
// decision codes and checks that the code actions offered and the routes'
// states stay the same: they come from the codes (house style 14).
func TestNothingReadsTheWords(t *testing.T) {
	actions, states, words := decisionsSeen(t)

	// The workspace must really offer the actions that used to read the
	// words: "Remove this duplicate block" on a block of a later file
	// ("comes first in composed order"), no "Make ... win" for a pinned
	// winner ("pinned in ...").
	for where, want := range map[string]string{
		"apps/a.conf:2": "Remove this duplicate block",
		"apps/a.conf:4": "Remove this duplicate block",
		"apps/b.conf:1": "Make apps/b.conf win /api/",
		"apps/a.conf:5": "Make apps/a.conf win /e/",
	} {
		if !slices.Contains(actions[where], want) {
			t.Errorf("%s: no %q among %q", where, want, actions[where])
		}
	}
	if slices.Contains(actions["apps/a.conf:1"], "Make apps/a.conf win /api/") {
		t.Errorf("apps/a.conf:1 is pinned to win, yet offers %q", actions["apps/a.conf:1"])
	}
	for _, code := range routing.InactiveReasons {
		if !strings.Contains(states, "code="+string(code)+" ") {
			t.Errorf("no route is inactive with %s; the workspace no longer covers it:\n%s", code, states)
		}
	}

	const off, settled = "switched off, for reasons", "settled somehow"
	restore := routing.UseSentences(routing.Sentences{
		Settlement: func(routing.Settlement) string { return settled },
		Inactive:   func(*routing.Block) string { return off },
	})
	t.Cleanup(restore)
	renamedActions, renamedStates, renamedWords := decisionsSeen(t)

	for _, w := range renamedWords {
		if w != off && w != settled {
			t.Fatalf("the words were not renamed: %q", renamedWords)
		}
	}
	if reflect.DeepEqual(words, renamedWords) {
		t.Fatalf("the words did not change: %q", words)
	}
	if !reflect.DeepEqual(actions, renamedActions) {
		a, _ := json.MarshalIndent(actions, "", "  ")
		b, _ := json.MarshalIndent(renamedActions, "", "  ")
		t.Errorf("renaming the words changed the code actions:\nbefore: %s\nafter: %s", a, b)
	}
	if states != renamedStates {
		t.Errorf("renaming the words changed devproxy/routes:\nbefore:\n%s\nafter:\n%s", states, renamedStates)
	}
}
