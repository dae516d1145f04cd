package httpproxy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// TestRoutesJSONStatesDoNotDependOnWords renames every sentence the engine
// makes from its decision codes: /routes.json's words change, its states
// and codes do not.
func TestRoutesJSONStatesDoNotDependOnWords(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	files := map[string]string{
		"overrides/o.conf": "location /web/ { return 200 o; }\n",
		"apps/a.conf":      "location /api/ { return 200 a; }\nlocation /web/ { return 200 a; }\nlocation /dup/ { return 204; }\nlocation ^~ /dup/ { return 204; }\nlocation ~ ^/x/(.*)$ { return 204; }\n",
		"apps/b.conf":      "location /api/ { return 200 b; }\nlocation /devproxy/b/ { return 204; }\nlocation ~ ^/x/(.*)$ { return 204; }\n",
	}
	build := func() (states string, words []string) {
		var srcs []*routing.SourceFile
		for path, text := range files {
			kind, mod := routing.AppFile, t0
			if strings.HasPrefix(path, "overrides/") {
				kind = routing.OverrideFile
			}
			if path == "apps/b.conf" {
				mod = t0.Add(time.Hour) // b is newer: it wins /api/, and its regex comes first
			}
			srcs = append(srcs, &routing.SourceFile{Path: path, Kind: kind, ModTime: mod, Parsed: routefile.Parse(path, []byte(text))})
		}
		doc := NewRoutesDocument(routing.Compose(routing.Config{}, srcs, nil))
		var shape struct {
			Routes []struct {
				File         string                  `json:"file"`
				Line         int                     `json:"line"`
				Active       bool                    `json:"active"`
				InactiveCode *routing.InactiveReason `json:"inactiveCode"`
				Conflict     *string                 `json:"conflict"`
			} `json:"routes"`
			Conflicts []struct {
				Route      string             `json:"route"`
				Winner     string             `json:"winner"`
				ReasonCode routing.Settlement `json:"reasonCode"`
				Files      []string           `json:"files"`
			} `json:"conflicts"`
		}
		b, _ := json.Marshal(doc)
		if err := json.Unmarshal(b, &shape); err != nil {
			t.Fatal(err)
		}
		s, _ := json.Marshal(shape)
		for _, r := range doc.Routes {
			if r.InactiveReason != nil {
				words = append(words, *r.InactiveReason)
			}
		}
		for _, c := range doc.Conflicts {
			words = append(words, c.Reason)
		}
		return string(s), words
	}

	states, words := build()
	for _, code := range routing.InactiveReasons {
		if !strings.Contains(states, `"inactiveCode":"`+string(code)+`"`) {
			t.Errorf("no route is inactive with %s; the workspace no longer covers it: %s", code, states)
		}
	}
	for _, want := range []string{`"reasonCode":"newest"`, `"reasonCode":"override"`} {
		if !strings.Contains(states, want) {
			t.Errorf("no conflict with %s: %s", want, states)
		}
	}

	restore := routing.UseSentences(routing.Sentences{
		Settlement: func(routing.Settlement) string { return "settled somehow" },
		Inactive:   func(*routing.Block) string { return "switched off, for reasons" },
	})
	defer restore()
	renamedStates, renamedWords := build()
	if strings.Join(renamedWords, "|") == strings.Join(words, "|") {
		t.Fatalf("the words did not change: %q", words)
	}
	if renamedStates != states {
		t.Errorf("renaming the words changed /routes.json's states:\nbefore: %s\nafter:  %s", states, renamedStates)
	}
}
