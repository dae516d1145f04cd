package knowledge

import (
	"context"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/docs"
)

// answer names a section that answers a question: the doc under docs/ and
// the last heading of the section's heading path.
type answer struct{ doc, heading string }

func a(doc, heading string) answer { return answer{"docs/" + doc, heading} }

// questions are asked the way users ask them (in chat, in issues, from what
// the browser or the terminal showed), not in the docs' words. Each lists
// every section that answers it; a question counts as found when one of
// them is among the first five hits.
var questions = []struct {
	q       string
	answers []answer
}{
	{"my styles 404 when the app is under /shop", []answer{
		a("guides/troubleshooting.md", "Why do my CSS and JS files 404 under a prefix?"),
		a("guides/vite.md", "Why does the page load without styles, or with 404s for /@vite/client?"),
		a("guides/nextjs.md", "Why do /_next/static files 404?")}},
	{"why does vite hmr keep reconnecting through the tunnel", []answer{
		a("guides/vite.md", "Why does Vite HMR keep reconnecting?"),
		a("guides/tunnel-mixed-content.md", "How do I get HMR working through the tunnel?"),
		a("guides/hmr.md", "Why does HMR work locally but not through the tunnel?")}},
	{"next.js app mounted at /shop gives ERR_TOO_MANY_REDIRECTS", []answer{
		a("guides/troubleshooting.md", "Why does the browser say \"too many redirects\"?"),
		a("guides/nextjs.md", "What route file goes with it?")}},
	{"what does the json 503 service unavailable error from devproxy mean", []answer{
		a("guides/troubleshooting.md", "Why is my route down? What do 502, 503 and 504 from the proxy mean?"),
		a("route-files.md", "7. When the upstream is not there")}},
	{"the route shows connection refused on 127.0.0.1:5999", []answer{
		a("guides/troubleshooting.md", "What does \"connection refused\" mean?"),
		a("guides/troubleshooting.md", "Why is my route down? What do 502, 503 and 504 from the proxy mean?")}},
	{"a request to /api/users arrives at my server as //users", []answer{
		a("guides/route-syntax.md", "The slash pitfall"),
		a("route-files.md", "6. What the upstream receives")}},
	{"two config files both have location /api/, which one gets the traffic", []answer{
		a("guides/route-syntax.md", "What happens when two apps claim the same route?"),
		a("route-files.md", "4. Composition and conflicts")}},
	{"how do I force apps/b.conf to win over apps/a.conf for /api/", []answer{
		a("guides/route-syntax.md", "How do I pin the winner of a conflict?"),
		a("route-files.md", "4. Composition and conflicts")}},
	{"can my app use /dashboard or /status as its path", []answer{
		a("guides/route-syntax.md", "Which paths can I not use?"),
		a("route-files.md", "4. Composition and conflicts")}},
	{"difference between ^~ and a normal location block", []answer{
		a("guides/route-syntax.md", "Which location modifier should I use?"),
		a("guides/route-syntax.md", "What is the difference between `location /x/` and `location ^~ /x/`?")}},
	{"how do I remove the /myapp part before the request hits my server", []answer{
		a("guides/route-syntax.md", "Does the upstream see /myapp/ or not? (proxy_pass with and without a URI)"),
		a("route-files.md", "6. What the upstream receives")}},
	{"fetch('/api/items') returns <!DOCTYPE html> instead of json", []answer{
		a("guides/troubleshooting.md", "Why does my API route answer with HTML?"),
		a("guides/nextjs.md", "Why do my API routes return HTML or 404?")}},
	{"browser blocks the backend call because of CORS", []answer{
		a("guides/troubleshooting.md", "Why do I get CORS errors?")}},
	{"login session is lost after signing in behind the proxy", []answer{
		a("guides/troubleshooting.md", "Why are my cookies lost, or why does login not stick?"),
		a("guides/tunnel-mixed-content.md", "Why are my cookies not kept through the tunnel?")}},
	{"webpack dev server prints Invalid Host header", []answer{
		a("guides/troubleshooting.md", "Why does my dev server say \"Invalid Host header\" or \"Blocked request\"?"),
		a("guides/cra.md", "Why does the dev server answer \"Invalid Host header\"?"),
		a("guides/storybook.md", "Why do I see \"Invalid Host header\"?")}},
	{"vite refuses my ngrok domain", []answer{
		a("guides/vite.md", "Why does Vite say \"Blocked request. This host is not allowed\"?"),
		a("guides/troubleshooting.md", "Why does my dev server say \"Invalid Host header\" or \"Blocked request\"?")}},
	{"the websocket handshake gets 403 but the page itself works", []answer{
		a("guides/hmr.md", "Why does the socket get 403 while the page loads fine?"),
		a("guides/troubleshooting.md", "Why is the WebSocket or HMR connection refused?"),
		a("dev-servers.md", "Why")}},
	{"which url does next dev use for its live reload socket", []answer{
		a("guides/nextjs.md", "How does HMR work for Next.js behind the proxy?"),
		a("guides/hmr.md", "Where does each framework open its socket?")}},
	{"react-scripts app in a sub folder, where do I tell it the public url", []answer{
		a("guides/cra.md", "How do I set the base path of a CRA app?")}},
	{"create react app reload socket goes to ws://127.0.0.1:8080/ws and fails", []answer{
		a("guides/cra.md", "How do I fix the dev server's WebSocket (WDS_SOCKET_PATH)?"),
		a("guides/hmr.md", "Where does each framework open its socket?")}},
	{"storybook preview stays empty at /storybook/", []answer{
		a("guides/storybook.md", "Why is the story area blank, or why does iframe.html load without its scripts?")}},
	{"add a <base href> to the storybook page", []answer{
		a("guides/storybook.md", "What are managerHead and previewHead for?")}},
	{"storybook keeps saying it lost the connection to the server", []answer{
		a("guides/storybook.md", "Why does Storybook say it is disconnected, or not update when I save?")}},
	{"start storybook without the interactive prompt and without opening a browser", []answer{
		a("guides/storybook.md", "How do I serve Storybook under /storybook/?")}},
	{"was loaded over HTTPS, but requested an insecure script", []answer{
		a("guides/tunnel-mixed-content.md", "What is mixed content?"),
		a("guides/tunnel-mixed-content.md", "Why does my app write http:// URLs through the tunnel?")}},
	{"my express server builds http links when opened via ngrok", []answer{
		a("guides/tunnel-mixed-content.md", "Why does my app write http:// URLs through the tunnel?")}},
	{"after a redirect the browser ends up on http instead of https with ngrok", []answer{
		a("guides/tunnel-mixed-content.md", "Why do redirects through the tunnel go to http://?")}},
	{"how do I hook ngrok up to devproxy", []answer{
		a("guides/tunnel-mixed-content.md", "How do I set up the tunnel?")}},
	{"ngrok shows its own interstitial page before my site", []answer{
		a("guides/tunnel-mixed-content.md", "Why does ngrok show a warning page instead of my app?")}},
	{"the hot reload client connects to port 5173 directly instead of 8080", []answer{
		a("guides/hmr.md", "Why does the client connect to the dev server's port instead of the proxy's?"),
		a("guides/vite.md", "Why does Vite HMR keep reconnecting?"),
		a("guides/vite.md", "What do server.hmr.path and server.hmr.clientPort do?")}},
	{"what do I put in next.config.js so the app lives under /shop", []answer{
		a("guides/nextjs.md", "How do I configure next.config.js for a subpath?")}},
	{"do I need assetPrefix as well as basePath", []answer{
		a("guides/nextjs.md", "What is assetPrefix for?")}},
	{"send /old/page to /new/page with a 301", []answer{
		a("guides/route-syntax.md", "How do I redirect or rewrite a path?")}},
	{"my set $upstream variable is ignored after rewrite break", []answer{
		a("guides/route-syntax.md", "How do I use variables and set?"),
		a("route-files.md", "2. Syntax (the accepted subset of nginx)")}},
	{"do websockets even work through devproxy", []answer{
		a("guides/hmr.md", "Does devproxy pass WebSocket upgrades?")}},
	{"does my app get X-Forwarded-Prefix and X-Forwarded-For from the proxy", []answer{
		a("guides/route-syntax.md", "Which headers can I set?"),
		a("route-files.md", "6. What the upstream receives")}},
	{"can I put an upstream {} block in apps/api.conf", []answer{
		a("guides/route-syntax.md", "What else is accepted, ignored or refused?"),
		a("route-files.md", "2. Syntax (the accepted subset of nginx)")}},
	{"a slow endpoint times out after a minute with 504", []answer{
		a("guides/troubleshooting.md", "Why is my route down? What do 502, 503 and 504 from the proxy mean?"),
		a("route-files.md", "7. When the upstream is not there")}},
	{"the nextjs app has no basePath and I can't edit it, can I still proxy it", []answer{
		a("guides/nextjs.md", "What if I cannot change the app's config?")}},
	{"react router basename with vite import.meta.env.BASE_URL", []answer{
		a("guides/vite.md", "How do I set Vite's base path?")}},
	{"rails renders the page and the vite assets point at localhost:5173", []answer{
		a("guides/vite.md", "What is server.origin for?")}},
	{"cookie marked Secure is not saved on http://127.0.0.1:8080", []answer{
		a("guides/troubleshooting.md", "Why are my cookies lost, or why does login not stick?"),
		a("guides/tunnel-mixed-content.md", "Why are my cookies not kept through the tunnel?")}},
	{"example conf for an app running on port 3000", []answer{
		a("guides/route-syntax.md", "What does a minimal route file look like?")}},
	{"patch another team's routing without touching their file", []answer{
		a("guides/route-syntax.md", "When should I use overrides/?")}},
	{"why does /myapp answer 301 to /myapp/", []answer{
		a("guides/route-syntax.md", "The missing-slash redirect"),
		a("route-files.md", "5. Matching a request (nginx's algorithm)")}},
	{"serve the output of storybook build under a path", []answer{
		a("guides/storybook.md", "Can a built Storybook be served under a prefix?")}},
	{"how can I debug what happens to the ws request", []answer{
		a("guides/hmr.md", "How do I see what happens to the socket?")}},
	{"works on localhost:3000 but 404 on localhost:8080/shop/", []answer{
		a("guides/troubleshooting.md", "Why does my app answer 404 under a prefix?")}},
}

func (h Hit) answers(want []answer) bool {
	for _, w := range want {
		// The section, or one of its subsections (a chunk of the
		// section's own text).
		if h.Doc == w.doc && (h.Heading == w.heading || strings.HasSuffix(h.Heading, " > "+w.heading) ||
			strings.HasPrefix(h.Heading, w.heading+" > ") || strings.Contains(h.Heading, " > "+w.heading+" > ")) {
			return true
		}
	}
	return false
}

func recallAt(hits []Hit, want []answer, k int) bool {
	for i, h := range hits {
		if i == k {
			break
		}
		if h.answers(want) {
			return true
		}
	}
	return false
}

// embeddedIndex indexes the product's embedded docs with the built-in model.
func embeddedIndex(t testing.TB) *Index {
	t.Helper()
	all, err := Docs(docs.FS, "docs")
	if err != nil {
		t.Fatal(err)
	}
	x, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	if _, err := x.Update(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	return x
}

// TestRetrievalQuality asks the questions over the embedded docs: hybrid
// retrieval must find an answering section in its first five hits for at
// least 90% of them, and more often than full text alone.
func TestRetrievalQuality(t *testing.T) {
	if len(questions) < 40 {
		t.Fatalf("%d questions; the proof asks for at least 40", len(questions))
	}
	// Every expected section must exist, or a typo would hide a miss.
	x := embeddedIndex(t)
	st := x.snapshotNow()
	for _, q := range questions {
		for _, w := range q.answers {
			found := false
			for _, c := range st.chunks {
				if (Hit{Chunk: c}).answers([]answer{w}) {
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("question %q: no chunk of %s under %q", q.q, w.doc, w.heading)
			}
		}
	}
	ctx := context.Background()
	var hybrid, fullText, vector int
	for _, q := range questions {
		h, err := x.Search(ctx, q.q, 5)
		if err != nil {
			t.Fatal(err)
		}
		f, err := x.SearchFullText(q.q, 5)
		if err != nil {
			t.Fatal(err)
		}
		v, err := x.SearchVector(ctx, q.q, 5)
		if err != nil {
			t.Fatal(err)
		}
		if recallAt(h, q.answers, 5) {
			hybrid++
		} else {
			t.Logf("hybrid miss: %q; got %s", q.q, describe(h))
		}
		if recallAt(f, q.answers, 5) {
			fullText++
		}
		if recallAt(v, q.answers, 5) {
			vector++
		}
	}
	n := float64(len(questions))
	rh, rf, rv := float64(hybrid)/n, float64(fullText)/n, float64(vector)/n
	t.Logf("recall@5 over %d questions, %d chunks: hybrid %.3f (%d), full text %.3f (%d), vector (LSA) %.3f (%d)",
		len(questions), x.Chunks(), rh, hybrid, rf, fullText, rv, vector)
	if rh < 0.9 {
		t.Errorf("hybrid recall@5 = %.3f, want >= 0.9", rh)
	}
	if rh <= rf {
		t.Errorf("hybrid recall@5 = %.3f, not better than full text alone (%.3f)", rh, rf)
	}
}

func describe(hits []Hit) string {
	var b strings.Builder
	for i, h := range hits {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(strings.TrimPrefix(h.Doc, "docs/") + " » " + h.Heading)
	}
	return b.String()
}
