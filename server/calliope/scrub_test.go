package calliope

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

func TestScrub(t *testing.T) {
	t.Setenv("CALLIOPE_TEST_API_KEY", "envvalue-7f3a9")
	tests := []struct{ in, secret, keep string }{
		{`proxy_set_header Authorization "Bearer abc123";`, "abc123", `proxy_set_header Authorization "[redacted]";`},
		{`proxy_set_header Cookie 'sid=s3cr3t';`, "s3cr3t", "proxy_set_header Cookie"},
		{`proxy_set_header X-Api-Token tok_998877;`, "tok_998877", "proxy_set_header X-Api-Token [redacted];"},
		{`"trace":["proxy_set_header Authorization \"Bearer abc123\";"]`, "abc123", `Authorization \"[redacted]\";"]`},
		{`"trace":["proxy_set_header Cookie \"a=b; c=d9\";"]`, "c=d9", `Cookie \"[redacted]\";"]`},
		{`proxy_set_header Host $host;`, "", `proxy_set_header Host $host;`},
		{"Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Authorization: [redacted]"},
		{`{"upstream_headers":{"Authorization":"Bearer abc123","Host":"x"}}`, "abc123", `"Host":"x"`},
		{"my browser sends Cookie: session=hunter2cookie; theme=dark", "hunter2cookie", "my browser sends Cookie"},
		{"Set-Cookie: id=a3f0; Path=/", "a3f0", "Set-Cookie"},
		{"curl -H 'x-api-key: 0123abcd' http://x/", "0123abcd", "curl"},
		{"the key is sk-proj-AbCdEf0123456789xyz", "sk-proj-AbCdEf0123456789xyz", "the key is [redacted]"},
		{"ghp_abcdefghijklmnopqrstuvwxyz0123456789 works", "ghp_abcdefghijklmnop", "works"},
		{"open /app/?token=eyJhbGciOi.x&page=2", "eyJhbGciOi", "page=2"},
		{"ws://127.0.0.1:8080/hmr?access_token=qq11", "qq11", "/hmr?access_token=[redacted]"},
		{"proxy_pass http://admin:pa55word@127.0.0.1:9000;", "pa55word", "@127.0.0.1:9000"},
		{"OPENAI_API_KEY=abcd1234efgh", "abcd1234efgh", "OPENAI_API_KEY="},
		{"GITHUB_TOKEN: zz99zz99", "zz99zz99", "GITHUB_TOKEN"},
		{"I exported the variable, its value is envvalue-7f3a9 now", "envvalue-7f3a9", "its value is [redacted] now"},
		{"the header uses a Bearer token", "", "the header uses a Bearer token"},
		{"basic routing and the Authorization header is missing", "", "basic routing and the Authorization header is missing"},
		{"why does /myapp/ answer 502?", "", "why does /myapp/ answer 502?"},
	}
	for _, tt := range tests {
		got := Scrub(tt.in)
		if tt.secret != "" && strings.Contains(got, tt.secret) {
			t.Errorf("Scrub(%q) = %q: the secret is left", tt.in, got)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("Scrub(%q) = %q: lost %q", tt.in, got, tt.keep)
		}
	}
}

// TestScrubJSON: a JSON document stays JSON, with credential fields and
// secrets in its strings redacted.
func TestScrubJSON(t *testing.T) {
	in := `{"upstream_headers":{"Authorization":"Basic Zm9vOmJhcg==","Cookie":"sid=x1","Host":"app"},"trace":["proxy_set_header X-Token tok123;","proxy_set_header Authorization \"Bearer abc123\";"],"n":1.5}`
	out := ScrubJSON(in)
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	for _, s := range []string{"Zm9vOmJhcg", "sid=x1", "tok123", "abc123"} {
		if strings.Contains(out, s) {
			t.Errorf("%s keeps %q", out, s)
		}
	}
	if !strings.Contains(out, `"Host":"app"`) || !strings.Contains(out, `"n":1.5`) {
		t.Errorf("%s lost more than secrets", out)
	}
	if got := ScrubJSON("not json, Cookie: a=b1"); got != "not json, Cookie: [redacted]" {
		t.Errorf("%q", got)
	}
}

// TestSecretsNeverReachTheModel: a route file that sets an Authorization
// header, a question with a cookie, a token in a URL and the value of a
// secret environment variable: none of them is in any request the model
// receives (the system prompt, the question, the tools' answers) nor in
// the history.
func TestSecretsNeverReachTheModel(t *testing.T) {
	t.Setenv("CALLIOPE_TEST_SECRET", "envsecret-4242")
	secrets := []string{"abc123", "hunter2cookie", "qtok-777", "envsecret-4242", "sk-live0123456789abcdef"}
	e := deadEngine(t)
	e.table = table(t, "apps/api.conf", `location /api/ {
    proxy_pass http://127.0.0.1:1;
    proxy_set_header Authorization "Bearer abc123";
}
`)
	calls := []provider.ToolCall{
		{ID: "1", Name: "explain_url", Arguments: `{"url":"/api/x?token=qtok-777"}`},
		{ID: "2", Name: "list_routes", Arguments: `{}`},
	}
	m := &fakeModel{name: "fake", rounds: []round{{calls: calls}, {deltas: []string{"done"}}}}
	h, err := OpenHistory(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	a := New(Options{Model: m, Engine: e, History: h})
	msg := "My browser sends Cookie: session=hunter2cookie and /api/x?token=qtok-777 fails; my key sk-live0123456789abcdef and envsecret-4242 are set."
	res, err := a.Chat(context.Background(), ChatParams{Message: msg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := m.recorded()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	wire, _ := json.Marshal(reqs)
	stored, _ := json.Marshal(h.Conversation(res.Conversation))
	for _, s := range secrets {
		if strings.Contains(string(wire), s) {
			t.Errorf("the model received %q", s)
		}
		if strings.Contains(string(stored), s) {
			t.Errorf("the history keeps %q", s)
		}
	}
	for _, msg := range reqs[1].Messages {
		if msg.Role == "tool" && !json.Valid([]byte(msg.Content)) {
			t.Errorf("a scrubbed tool answer is no longer JSON: %s", msg.Content)
		}
	}
	// The facts are there, only the secrets are not.
	if !strings.Contains(string(wire), "upstream_headers") || !strings.Contains(string(wire), `Authorization`) || !strings.Contains(string(wire), "/api/x?token=[redacted]") {
		t.Errorf("the tool answer lost more than secrets:\n%s", wire)
	}
}
