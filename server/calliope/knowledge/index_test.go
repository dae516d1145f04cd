package knowledge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/devtunnelproxy/devproxy/docs"
)

// countingEmbedder is a provider's embedder as the index sees it: it
// records every call and the texts sent, and returns bag-of-words vectors
// (each word hashed into one of 64 dimensions), so similar texts are close.
type countingEmbedder struct {
	name  string
	mu    sync.Mutex
	calls int
	texts []string
}

func (e *countingEmbedder) Name() string { return e.name }

func (e *countingEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	e.texts = append(e.texts, texts...)
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 64)
		for _, w := range tokenize(t) {
			h := fnv.New32a()
			h.Write([]byte(w))
			v[h.Sum32()%64]++
		}
		out[i] = v
	}
	return out, nil
}

func (e *countingEmbedder) reset() (calls int, texts []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	calls, texts = e.calls, e.texts
	e.calls, e.texts = 0, nil
	return calls, texts
}

var (
	docAlpha = Doc{Path: "docs/alpha.md", Text: "# Alpha\n\nAlpha intro about giraffes.\n\n## Routing\n\nAlpha routes requests to upstreams.\n\n## Sockets\n\nAlpha sockets upgrade.\n"}
	docBeta  = Doc{Path: "docs/beta.md", Text: "# Beta\n\nBeta intro about penguins.\n\n## Cookies\n\nBeta cookies keep their path.\n\n## Redirects\n\nBeta redirects stay relative.\n"}
	docGamma = Doc{Path: "docs/gamma.md", Text: "# Gamma\n\nGamma intro about walruses.\n\n## Timeouts\n\nGamma timeouts answer 504.\n"}
)

func hitDocs(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Doc)
	}
	return out
}

// TestReindexEmbedsOnlyWhatChanged: after one document changes, only its
// changed chunks go to the embedder; a removed document's hits disappear;
// reopening from disk embeds nothing.
func TestReindexEmbedsOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	emb := &countingEmbedder{name: "fake-embed-v1"}
	x, err := Open(dir, Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := x.Update(ctx, []Doc{docAlpha, docBeta, docGamma})
	if err != nil {
		t.Fatal(err)
	}
	want := len(SplitDoc(docAlpha)) + len(SplitDoc(docBeta)) + len(SplitDoc(docGamma))
	if _, texts := emb.reset(); len(texts) != want || stats.ChunksEmbedded != want || stats.DocsChanged != 3 {
		t.Fatalf("first update: %d texts embedded, stats %+v; want %d chunks of 3 docs", len(texts), stats, want)
	}

	// Change one section of beta.
	betaV2 := Doc{Path: docBeta.Path, Text: strings.Replace(docBeta.Text, "Beta cookies keep their path.", "Beta cookies keep their path and their flamingos.", 1)}
	var changed []string
	oldHashes := map[string]bool{}
	for _, c := range SplitDoc(docBeta) {
		oldHashes[c.Hash] = true
	}
	for _, c := range SplitDoc(betaV2) {
		if !oldHashes[c.Hash] {
			changed = append(changed, c.Text)
		}
	}
	if len(changed) != 1 {
		t.Fatalf("the edit changed %d chunks, the test expects 1", len(changed))
	}
	stats, err = x.Update(ctx, []Doc{docAlpha, betaV2, docGamma})
	if err != nil {
		t.Fatal(err)
	}
	calls, texts := emb.reset()
	if calls != 1 || !slices.Equal(texts, changed) {
		t.Errorf("after editing one section: %d calls embedding %q; want 1 call embedding %q", calls, texts, changed)
	}
	if stats.DocsChanged != 1 || stats.DocsUnchanged != 2 || stats.DocsRemoved != 0 || stats.ChunksEmbedded != 1 {
		t.Errorf("stats %+v", stats)
	}
	hits, err := x.Search(ctx, "flamingos", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].Doc != docBeta.Path || !strings.Contains(hits[0].Text, "flamingos") {
		t.Errorf("search for the new word: %+v", hits)
	}
	emb.reset()

	// Remove gamma: no embedding, and no hit of it in either ranking.
	stats, err = x.Update(ctx, []Doc{docAlpha, betaV2})
	if err != nil {
		t.Fatal(err)
	}
	if calls, _ := emb.reset(); calls != 0 || stats.DocsRemoved != 1 {
		t.Errorf("removing a doc: %d embed calls, stats %+v", calls, stats)
	}
	for _, search := range []func() ([]Hit, error){
		func() ([]Hit, error) { return x.Search(ctx, "gamma walruses timeouts 504", 10) },
		func() ([]Hit, error) { return x.SearchFullText("gamma walruses timeouts 504", 10) },
		func() ([]Hit, error) { return x.SearchVector(ctx, "gamma walruses timeouts 504", 10) },
	} {
		hits, err := search()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(hitDocs(hits), docGamma.Path) {
			t.Errorf("a removed document still answers: %v", hitDocs(hits))
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: the vectors come from disk.
	emb2 := &countingEmbedder{name: "fake-embed-v1"}
	x, err = Open(dir, Options{Embedder: emb2})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	stats, err = x.Update(ctx, []Doc{docAlpha, betaV2})
	if err != nil {
		t.Fatal(err)
	}
	if calls, texts := emb2.reset(); calls != 0 || stats.DocsChanged != 0 || stats.DocsUnchanged != 2 {
		t.Errorf("after reopening: %d embed calls (%q), stats %+v; want none", calls, texts, stats)
	}
	hits, err = x.SearchVector(ctx, "penguins", 1)
	if err != nil {
		t.Fatal(err)
	}
	if calls, texts := emb2.reset(); calls != 1 || !slices.Equal(texts, []string{"penguins"}) {
		t.Errorf("a search embeds only the query; got %d calls with %q", calls, texts)
	}
	if len(hits) != 1 || hits[0].Doc != docBeta.Path || hits[0].VectorRank != 1 {
		t.Errorf("vector search after reopening: %+v", hits)
	}
}

// TestAnotherEmbedderReembeds: vectors are keyed by the embedder's name.
func TestAnotherEmbedderReembeds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	x, err := Open(dir, Options{Embedder: &countingEmbedder{name: "one"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Update(ctx, []Doc{docAlpha}); err != nil {
		t.Fatal(err)
	}
	x.Close()
	two := &countingEmbedder{name: "two"}
	x, err = Open(dir, Options{Embedder: two})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	stats, err := x.Update(ctx, []Doc{docAlpha})
	if err != nil {
		t.Fatal(err)
	}
	if stats.ChunksEmbedded != len(SplitDoc(docAlpha)) || stats.DocsChanged != 0 {
		t.Errorf("another embedder: stats %+v, want every chunk embedded and no doc reindexed", stats)
	}
}

// TestUpdateWithBuiltinModel: without a provider, hybrid search works
// offline and the model follows the corpus.
func TestUpdateWithBuiltinModel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	x, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := x.Update(ctx, []Doc{docAlpha, docBeta, docGamma})
	if err != nil {
		t.Fatal(err)
	}
	if !stats.ModelRebuilt || stats.ChunksEmbedded != 0 {
		t.Errorf("stats %+v", stats)
	}
	hits, err := x.Search(ctx, "penguins", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].Doc != docBeta.Path || hits[0].FullTextRank != 1 || hits[0].VectorRank == 0 {
		t.Errorf("hybrid search: %+v", hits)
	}
	stats, err = x.Update(ctx, []Doc{docAlpha, docBeta, docGamma})
	if err != nil {
		t.Fatal(err)
	}
	if stats.ModelRebuilt || stats.DocsUnchanged != 3 {
		t.Errorf("nothing changed, yet %+v", stats)
	}
	x.Close()
	x, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.Chunks() != len(SplitDoc(docAlpha))+len(SplitDoc(docBeta))+len(SplitDoc(docGamma)) {
		t.Errorf("reopened with %d chunks", x.Chunks())
	}
	hits, err = x.SearchVector(ctx, "walruses", 1)
	if err != nil || len(hits) != 1 || hits[0].Doc != docGamma.Path {
		t.Errorf("vector search after reopening: %+v, %v", hits, err)
	}
}

// TestOpenLocked: a second Open of a held index fails within about a second
// and says why.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	start := time.Now()
	y, err := Open(dir, Options{})
	took := time.Since(start)
	if err == nil {
		y.Close()
		t.Fatal("a second Open of a held index succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), filepath.Join(dir, "knowledge.db")) {
		t.Errorf("error %q: want ErrLocked naming the file", err)
	}
	if took > 2*time.Second {
		t.Errorf("the second Open took %v", took)
	}
	t.Logf("second Open failed after %v: %v", took.Round(time.Millisecond), err)
}

// TestOpenLockedByAnotherProcess holds the index in a child process (this
// test binary, re-run as TestHelperHoldIndex) and opens it here.
func TestOpenLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldIndex$")
	cmd.Env = append(os.Environ(), "KNOWLEDGE_HOLD_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // the child closes the index and exits
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "holding\n" {
		t.Fatalf("child: %q, %v", line, err)
	}
	start := time.Now()
	x, err := Open(dir, Options{})
	if err == nil {
		x.Close()
		t.Fatal("opened an index another process holds")
	}
	if took := time.Since(start); !errors.Is(err, ErrLocked) || took > 2*time.Second {
		t.Errorf("after %v: %v; want ErrLocked within about a second", took, err)
	}
}

// TestHelperHoldIndex is the child of TestOpenLockedByAnotherProcess.
func TestHelperHoldIndex(t *testing.T) {
	dir := os.Getenv("KNOWLEDGE_HOLD_DIR")
	if dir == "" {
		t.Skip("run by TestOpenLockedByAnotherProcess")
	}
	x, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	fmt.Println("holding")
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
}

func TestDocsFromEmbeddedFS(t *testing.T) {
	all, err := Docs(docs.FS, "docs")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, d := range all {
		paths = append(paths, d.Path)
		if d.Text == "" {
			t.Errorf("%s is empty", d.Path)
		}
	}
	for _, want := range []string{"docs/route-files.md", "docs/guides/vite.md", "docs/guides/troubleshooting.md", "docs/guides/route-syntax.md",
		"docs/guides/nextjs.md", "docs/guides/storybook.md", "docs/guides/cra.md", "docs/guides/hmr.md", "docs/guides/tunnel-mixed-content.md"} {
		if !slices.Contains(paths, want) {
			t.Errorf("%s missing from %v", want, paths)
		}
	}
}

func TestWorkspaceDocs(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write := func(dir, rel, text string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(root, "README.md", "# Readme")
	write(root, "docs/a.md", "# A")
	write(root, "docs/sub/b.md", "# B")
	write(root, "docs/notes.txt", "not markdown")
	write(root, "docs/big.md", strings.Repeat("x", maxDocBytes+1))
	write(root, "node_modules/docs/c.md", "# dependency")
	write(root, "other/d.md", "# not in the globs")
	write(outside, "secret.md", "# outside the workspace")
	if err := os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(root, "docs", "link.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "docs", "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "docs", "a.md"), filepath.Join(root, "docs", "inside.md")); err != nil {
		t.Fatal(err)
	}
	got, err := WorkspaceDocs(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, d := range got {
		paths = append(paths, d.Path)
		if strings.Contains(d.Text, "outside") {
			t.Errorf("%s: read through a link out of the workspace", d.Path)
		}
	}
	want := []string{"workspace:README.md", "workspace:docs/a.md", "workspace:docs/inside.md", "workspace:docs/sub/b.md"}
	if !slices.Equal(paths, want) {
		t.Errorf("WorkspaceDocs = %v, want %v", paths, want)
	}

	got, err = WorkspaceDocs(root, []string{"other/*.md"})
	if err != nil || len(got) != 1 || got[0].Path != "workspace:other/d.md" {
		t.Errorf("configured globs: %+v, %v", got, err)
	}
}

func TestWorkspaceDocsBounded(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range maxDocFiles + 20 {
		if err := os.WriteFile(filepath.Join(root, "docs", strings.Repeat("x", 1+i/26)+string(rune('a'+i%26))+".md"), []byte("# x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := WorkspaceDocs(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxDocFiles {
		t.Errorf("%d docs, want the bound %d", len(got), maxDocFiles)
	}
}

func TestMatchGlob(t *testing.T) {
	for _, tc := range []struct {
		glob, path string
		want       bool
	}{
		{"docs/**/*.md", "docs/a.md", true},
		{"docs/**/*.md", "docs/x/y/a.md", true},
		{"docs/**/*.md", "docs/a.txt", false},
		{"docs/**/*.md", "src/docs/a.md", false},
		{"README.md", "README.md", true},
		{"README.md", "docs/README.md", false},
		{"**/README.md", "a/b/README.md", true},
	} {
		if got := matchAny([]string{tc.glob}, tc.path); got != tc.want {
			t.Errorf("match(%q, %q) = %v", tc.glob, tc.path, got)
		}
	}
}

// failingEmbedder fails after its first ok calls.
type failingEmbedder struct {
	countingEmbedder
	ok int
}

func (e *failingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if e.ok == 0 {
		return nil, errors.New("model unavailable")
	}
	e.ok--
	return e.countingEmbedder.Embed(ctx, texts)
}

// TestEmbedderFailures: a failed Update changes nothing and the next one
// finishes the work; a failed query embedding still gives full-text hits.
func TestEmbedderFailures(t *testing.T) {
	ctx := context.Background()
	emb := &failingEmbedder{countingEmbedder: countingEmbedder{name: "flaky"}, ok: 1}
	x, err := Open(t.TempDir(), Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Update(ctx, []Doc{docAlpha}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Update(ctx, []Doc{docAlpha, docBeta}); err == nil || !strings.Contains(err.Error(), "model unavailable") {
		t.Fatalf("Update with a failing embedder: %v", err)
	}
	if hits, _ := x.SearchFullText("penguins", 5); len(hits) != 0 {
		t.Errorf("a failed Update indexed beta: %+v", hits)
	}
	hits, err := x.Search(ctx, "giraffes", 5)
	if err == nil || len(hits) == 0 || hits[0].Doc != docAlpha.Path || hits[0].VectorRank != 0 {
		t.Errorf("Search with a failing query embedding: %+v, %v; want full-text hits and an error", hits, err)
	}
	emb.ok = 10
	stats, err := x.Update(ctx, []Doc{docAlpha, docBeta})
	if err != nil || stats.DocsChanged != 1 || stats.ChunksEmbedded != len(SplitDoc(docBeta)) {
		t.Errorf("retried Update: %+v, %v", stats, err)
	}
}

// TestSearchDuringUpdate runs searches while documents change (go test -race).
func TestSearchDuringUpdate(t *testing.T) {
	ctx := context.Background()
	x, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Update(ctx, []Doc{docAlpha, docBeta}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			set := []Doc{docAlpha, docBeta}
			if i%2 == 0 {
				set = append(set, docGamma)
			}
			if _, err := x.Update(ctx, set); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if _, err := x.Search(ctx, "routes cookies walruses", 5); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLostDatabaseRebuildsFullText: with knowledge.db gone, the full-text
// index is rebuilt, so documents that no longer exist never answer.
func TestLostDatabaseRebuildsFullText(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	x, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Update(ctx, []Doc{docAlpha, docGamma}); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if err := os.Remove(filepath.Join(dir, "knowledge.db")); err != nil {
		t.Fatal(err)
	}
	x, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Update(ctx, []Doc{docAlpha}); err != nil {
		t.Fatal(err)
	}
	q := bleve.NewMatchQuery("walruses")
	q.SetField("text")
	hits, err := x.ft.Search(bleve.NewSearchRequest(q))
	if err != nil {
		t.Fatal(err)
	}
	if hits.Total != 0 {
		t.Errorf("the full-text index still holds %d chunks of a document no longer given", hits.Total)
	}
}
