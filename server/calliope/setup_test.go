package calliope

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/docs"
	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/calliope/heal"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider/providertest"
)

func noEnv(string) string { return "" }

// askUntilCited asks until the answer cites a doc (the index fills in the
// background), and returns that answer and its streamed text.
func askUntilCited(t *testing.T, a *Assistant, message string) (ChatResult, string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var streamed strings.Builder
		res, err := a.Chat(context.Background(), ChatParams{Message: message}, func(e Event) {
			if e.Kind == EventDelta {
				streamed.WriteString(e.Text)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Sources) > 0 || time.Now().After(deadline) {
			return res, streamed.String()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBuildWithAModel: Build finds the configured OpenAI-compatible
// server, indexes the product's docs and the workspace's in the data
// directory, and a turn sends the model the tools and the best doc
// passages, streams its answer and cites the docs.
func TestBuildWithAModel(t *testing.T) {
	fake := providertest.New(t)
	root, data := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(root, "README.md"), []byte("# Shop\n\n## Running\n\nThe shop's dev server runs on port 5173 under /shop/.\n"), 0o644)
	e := &fakeEngine{table: table(t, "apps/shop.conf", "location /shop/ { proxy_pass http://127.0.0.1:5173; }\n"),
		doc: healthDoc(health.Report{Route: "/shop/", File: "apps/shop.conf", Line: 1, Status: health.StatusOK})}
	a, closeAll := Build(context.Background(), Config{Root: root, DataDir: data, Engine: e, Docs: docs.FS, Getenv: noEnv,
		Settings: provider.Settings{Order: []string{"local"}, LocalName: "fake", LocalBaseURL: fake.URL(), LocalModel: "fake-chat"}})
	defer closeAll()
	res, streamed := askUntilCited(t, a, "the styles of my vite app 404 under /shop/, what do I set?")
	if res.Offline || res.Provider != "fake" || streamed != res.Text || res.Text == "" {
		t.Fatalf("offline %v, provider %q, streamed %q, text %q", res.Offline, res.Provider, streamed, res.Text)
	}
	if len(res.Sources) == 0 {
		t.Fatal("the answer cites no doc")
	}
	reqs := fake.ChatRequests()
	last := reqs[len(reqs)-1]
	if len(last.Tools) == 0 {
		t.Error("no tools offered to the model")
	}
	system := last.Messages[0].Content
	for _, want := range []string{"/shop/", "vite"} {
		if !strings.Contains(strings.ToLower(system), want) {
			t.Errorf("the model's context lacks %q", want)
		}
	}
	for _, name := range []string{"calliope.db", "patterns.db", "knowledge"} {
		if _, err := os.Stat(filepath.Join(data, name)); err != nil {
			t.Errorf("%s is not in the data directory: %v", name, err)
		}
	}
}

// TestBuildFallsBackOffline: the configured local server does not answer
// and there is no OpenAI key: the turn is answered offline, with a note
// that names the server that failed, and the doc passages still come.
// A second Build on the same data directory (another window) does not
// hang: it works without the files the first one holds.
func TestBuildFallsBackOffline(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	root, data := t.TempDir(), t.TempDir()
	e := &fakeEngine{table: table(t, "apps/a.conf", "location /a/ { proxy_pass http://127.0.0.1:5999; }\n"),
		doc: healthDoc(health.Report{Route: "/a/", File: "apps/a.conf", Line: 1, Status: health.StatusError, Reason: "connection refused on 127.0.0.1:5999"})}
	cfg := Config{Root: root, DataDir: data, Engine: e, Docs: docs.FS, Getenv: noEnv,
		Settings: provider.Settings{Order: []string{"local"}, LocalName: "local", LocalBaseURL: "http://" + dead + "/v1", LocalModel: "m"}}
	a, closeAll := Build(context.Background(), cfg)
	defer closeAll()
	res, _ := askUntilCited(t, a, "why is /a/ down?")
	if !res.Offline || !strings.Contains(res.Text, "connection refused on 127.0.0.1:5999") {
		t.Fatalf("offline %v: %s", res.Offline, res.Text)
	}
	if !strings.Contains(strings.Join(res.Notes, " "), dead) {
		t.Errorf("no note names the failed server: %q", res.Notes)
	}
	if len(res.Sources) == 0 {
		t.Error("the offline answer cites no doc")
	}
	start := time.Now()
	b, closeB := Build(context.Background(), cfg)
	defer closeB()
	if time.Since(start) > 5*time.Second {
		t.Errorf("a second Build on the held data directory took %v", time.Since(start))
	}
	if res, _ := askUntilCited(t, b, "why is /a/ down?"); !res.Offline {
		t.Error("the second assistant does not answer")
	}
}

// TestWorkspaceEditOfAFix: heal's edit, keyed by display path, becomes an
// LSP WorkspaceEdit keyed by file URI, with the files it creates listed.
func TestWorkspaceEditOfAFix(t *testing.T) {
	e := &heal.Edit{Changes: map[string][]heal.TextEdit{
		"apps/a.conf":                {{Range: heal.Range{Start: heal.Position{Line: 1, Character: 2}, End: heal.Position{Line: 1, Character: 2}}, NewText: "x;"}},
		".devproxy/resolutions.json": {{NewText: "{}\n"}},
		"elsewhere/b.conf":           {{NewText: "y"}},
	}, Create: []string{".devproxy/resolutions.json"}}
	abs := func(d string) (string, bool) {
		if strings.HasPrefix(d, "elsewhere/") {
			return "", false
		}
		return "/w/ws/" + d, true
	}
	w := workspaceEdit(e, abs)
	if len(w.Changes) != 2 || w.Changes["file:///w/ws/apps/a.conf"][0].NewText != "x;" ||
		len(w.Create) != 1 || w.Create[0] != "file:///w/ws/.devproxy/resolutions.json" {
		t.Errorf("%+v", w)
	}
}

// TestFixesAreCheckedWithoutHoldingTheAnswer: a route with the slash
// pitfall in front of a real API. The first answer comes at once (the fix
// is checked in the background, on throwaway proxies); a later answer
// carries the checked fix as an LSP WorkspaceEdit of the route file.
func TestFixesAreCheckedWithoutHoldingTheAnswer(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "//") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	defer api.Close()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "apps"), 0o755)
	os.WriteFile(filepath.Join(root, "apps", "api.conf"), []byte("location /api {\n    proxy_pass "+api.URL+"/;\n}\n"), 0o644)
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	e := &fakeEngine{table: ws.Served(), doc: healthDoc()}
	a, closeAll := Build(context.Background(), Config{Root: root, DataDir: t.TempDir(), Engine: e, Getenv: noEnv,
		Settings: provider.Settings{Order: []string{"local"}, LocalBaseURL: "http://127.0.0.1:1/v1", LocalModel: "m"}})
	defer closeAll()
	start := time.Now()
	first, err := a.Chat(context.Background(), ChatParams{Message: "why does /api/users fail?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the first answer took %v: it waited for the fix to be checked", took)
	}
	res := first
	for deadline := time.Now().Add(20 * time.Second); len(res.Fixes) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res, err = a.Chat(context.Background(), ChatParams{Message: "why does /api/users fail?"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(res.Fixes) == 0 {
		t.Fatalf("no checked fix after 20 s: %s", res.Text)
	}
	fix := res.Fixes[0]
	edit, ok := fix.Edit.(lspWorkspaceEdit)
	uri := "file://" + filepath.ToSlash(filepath.Join(root, "apps", "api.conf"))
	if !ok || fix.Pattern != heal.SlashPitfall || len(edit.Changes[uri]) != 1 {
		t.Fatalf("fix %+v", fix)
	}
	// Applied to the first line (ASCII: UTF-16 columns are bytes).
	te := edit.Changes[uri][0]
	line := "location /api {"
	if te.Range.Start.Line != 0 || te.Range.End.Line != 0 {
		t.Fatalf("edit %+v", te)
	}
	if got := line[:te.Range.Start.Character] + te.NewText + line[te.Range.End.Character:]; got != "location /api/ {" {
		t.Errorf("the first line becomes %q", got)
	}
}
