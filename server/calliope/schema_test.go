package calliope

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

const schemaBase = "https://raw.githubusercontent.com/devtunnelproxy/devproxy/main/schemas/"

// chatSchema compiles a part of schemas/lsp-chat*.schema.json: ref is
// "lsp-chat.schema.json" or "lsp-chat.schema.json#/$defs/params".
func chatSchema(t *testing.T, ref string) *jsonschema.Schema {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(here), "..", "..", "schemas")
	c := jsonschema.NewCompiler()
	for _, name := range []string{"lsp-chat.schema.json", "lsp-chat-delta.schema.json"} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(schemaBase+name, doc); err != nil {
			t.Fatal(err)
		}
	}
	sch, err := c.Compile(schemaBase + ref)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validates(t *testing.T, sch *jsonschema.Schema, v any) error {
	t.Helper()
	b, _ := json.Marshal(v)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(doc)
}

// TestChatMatchesItsSchemas: real params and results (offline with a fix,
// online) match schemas/lsp-chat.schema.json, the notifications
// lsp-chat-delta.schema.json, and the schemas reject what is wrong.
func TestChatMatchesItsSchemas(t *testing.T) {
	result := chatSchema(t, "lsp-chat.schema.json")
	params := chatSchema(t, "lsp-chat.schema.json#/$defs/params")
	notes := chatSchema(t, "lsp-chat-delta.schema.json")

	editFix := Fix{Title: "Add the trailing slash", Pattern: "slash-pitfall", Edit: map[string]any{"changes": map[string]any{
		"file:///w/apps/a.conf": []any{map[string]any{"range": map[string]any{"start": map[string]int{"line": 0, "character": 9}, "end": map[string]int{"line": 0, "character": 9}}, "newText": "/"}},
	}}}
	healer := HealerFunc(func(_ context.Context, route string) []Advice {
		return []Advice{{Pattern: "unreachable-upstream", Summary: "down", Fix: &startFix}, {Pattern: "slash-pitfall", Summary: "slash", Fix: &editFix}}
	})
	offline, err := New(Options{Engine: deadEngine(t), Knowledge: docHits, Healer: healer}).Chat(context.Background(), ChatParams{Message: "/dead/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(offline.Fixes) != 2 {
		t.Fatalf("fixes %+v", offline.Fixes)
	}
	m := &fakeModel{name: "fake", rounds: []round{{deltas: []string{"hello"}}}}
	online, err := New(Options{Model: m, Engine: deadEngine(t)}).Chat(context.Background(), ChatParams{Message: "hi"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []ChatResult{offline, online} {
		if err := validates(t, result, r); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	for _, p := range []ChatParams{{Message: "why?"}, {Message: "and then?", Conversation: offline.Conversation}} {
		if err := validates(t, params, p); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	for _, n := range []map[string]string{{"conversation": "c", "delta": "text"}, {"conversation": "c", "text": "probing /myapp/ …"}} {
		if err := validates(t, notes, n); err != nil {
			t.Errorf("%v: %v", n, err)
		}
	}
	// And what is wrong is refused.
	if validates(t, params, map[string]any{"message": ""}) == nil || validates(t, params, map[string]any{"msg": "x"}) == nil {
		t.Error("params: the schema accepts a missing message")
	}
	bad := online
	bad.Notes = nil
	if validates(t, result, bad) == nil {
		t.Error("result: the schema accepts notes: null")
	}
	if validates(t, notes, map[string]string{"conversation": "c"}) == nil {
		t.Error("notifications: the schema accepts neither delta nor text")
	}
	var _ provider.Provider = m
}
