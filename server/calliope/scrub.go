package calliope

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Secrets are kept out of everything Calliope sends to a model and
// everything it keeps in its history. Scrub is applied at that boundary,
// to every message whatever produced it (the user, the route table, a
// tool's answer), so a new source of text cannot leak by forgetting it.

// redacted replaces a secret.
const redacted = "[redacted]"

var (
	// proxy_set_header Authorization "Bearer x"; add_header Set-Cookie x;
	// The value may be quoted, or quoted with escaped quotes (the
	// directive inside a JSON string).
	reHeaderDirective = regexp.MustCompile(`(?i)\b((?:proxy_set_header|add_header|more_set_headers|grpc_set_header)\s+)([A-Za-z0-9_-]+)(\s+)(\\"(?:[^"\\]|\\[^"])*\\"|"[^"]*"|'[^']*'|[^\s;"'\\][^\s;]*)`)
	// Authorization: Basic x / "Authorization": "Bearer x" / authorization=x
	reAuthorization = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|x-api-key|x-auth-token|api[-_]?key)(["']?\s*[:=]\s*["']?)([^"'\n,;}]+)`)
	// Cookie: a=b; c=d / "Set-Cookie": "a=b; Path=/"
	reCookie = regexp.MustCompile(`(?i)\b((?:set-)?cookie)(["']?\s*[:=]\s*["']?)([^"'\n]+)`)
	// Bearer and Basic credentials wherever they stand (credentialLike
	// keeps prose such as "basic routing" out).
	reScheme = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{6,})`)
	// API keys with well-known shapes: OpenAI's sk-…, GitHub's ghp_…,
	// Slack's xox…-, AWS access key ids.
	reKeyShapes = regexp.MustCompile(`\b(?:sk-[A-Za-z0-9_-]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|xox[abpr]-[A-Za-z0-9-]{8,}|AKIA[0-9A-Z]{16})\b`)
	// ?token=x&api_key=y in URLs, and token=x wherever a query is quoted
	// without its "?" (match traces); the short names only in URLs.
	reQuery      = regexp.MustCompile(`(?i)((?:[?&]|\b)(?:access_token|id_token|refresh_token|token|api_key|apikey|secret|password|passwd|signature)=)([^&\s"'#\\]+)`)
	reQueryShort = regexp.MustCompile(`(?i)([?&](?:key|auth|sig|code)=)([^&\s"'#\\]+)`)
	// https://user:password@host
	reUserinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@"']+:[^/\s@"']+@`)
	// OPENAI_API_KEY=x, GITHUB_TOKEN: x, "DB_SECRET": "x"
	reEnvAssign = regexp.MustCompile(`\b([A-Z][A-Z0-9_]*(?:_KEY|_TOKEN|_SECRET|_PASSWORD))(["']?\s*[=:]\s*["']?)([^\s"']+)`)
)

// sensitiveHeader reports a header whose value is a credential.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"authorization", "cookie", "token", "secret", "api-key", "apikey", "api_key", "password", "session"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Scrub returns text with the secrets it can recognise replaced by
// "[redacted]": credentials in Authorization and Cookie values (as header
// lines, JSON fields or route-file directives), bearer tokens, API keys
// of known shapes, secret query parameters, passwords in URLs,
// assignments to variables named *_KEY, *_TOKEN, *_SECRET or *_PASSWORD,
// and the values of such variables in this process's environment.
func Scrub(text string) string {
	if text == "" {
		return text
	}
	text = reHeaderDirective.ReplaceAllStringFunc(text, func(m string) string {
		g := reHeaderDirective.FindStringSubmatch(m)
		if !sensitiveHeader(g[2]) {
			return m
		}
		// Keep the value's quoting, so a directive inside a JSON string
		// stays valid JSON.
		quote := ""
		switch {
		case strings.HasPrefix(g[4], `\"`):
			quote = `\"`
		case strings.HasPrefix(g[4], `"`), strings.HasPrefix(g[4], `'`):
			quote = `"`
		}
		return g[1] + g[2] + g[3] + quote + redacted + quote
	})
	text = reAuthorization.ReplaceAllString(text, "${1}${2}"+redacted)
	text = reCookie.ReplaceAllString(text, "${1}${2}"+redacted)
	text = reScheme.ReplaceAllStringFunc(text, func(m string) string {
		g := reScheme.FindStringSubmatch(m)
		if !credentialLike(g[3]) {
			return m
		}
		return g[1] + g[2] + redacted
	})
	text = reKeyShapes.ReplaceAllString(text, redacted)
	text = reQuery.ReplaceAllString(text, "${1}"+redacted)
	text = reQueryShort.ReplaceAllString(text, "${1}"+redacted)
	text = reUserinfo.ReplaceAllString(text, "${1}"+redacted+"@")
	text = reEnvAssign.ReplaceAllString(text, "${1}${2}"+redacted)
	for _, v := range envSecrets() {
		text = strings.ReplaceAll(text, v, redacted)
	}
	return text
}

// envSecrets are the values of this process's variables named like
// secrets, longest first (so a value containing another goes whole).
// Short values are skipped: "1" would redact every digit.
func envSecrets() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if len(v) < 6 {
			continue
		}
		for _, suffix := range []string{"_KEY", "_TOKEN", "_SECRET", "_PASSWORD"} {
			if strings.HasSuffix(strings.ToUpper(k), suffix) {
				out = append(out, v)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// credentialLike tells a token from a word: it has a digit or a symbol.
func credentialLike(s string) bool {
	return strings.ContainsAny(s, "0123456789._~+/=-")
}

// ScrubJSON is Scrub for a JSON document (a tool's answer, a tool call's
// arguments): every string in it is scrubbed as text, and the value of a
// field named like a credential ("Authorization", "Cookie", "apiKey") is
// redacted whole, so the document stays JSON. Text that is not JSON is
// scrubbed as text.
func ScrubJSON(text string) string {
	var v any
	if !json.Valid([]byte(text)) || json.Unmarshal([]byte(text), &v) != nil {
		return Scrub(text)
	}
	b, err := json.Marshal(scrubValue(v))
	if err != nil {
		return Scrub(text)
	}
	return string(b)
}

func scrubValue(v any) any {
	switch v := v.(type) {
	case string:
		return Scrub(v)
	case []any:
		for i := range v {
			v[i] = scrubValue(v[i])
		}
	case map[string]any:
		for k, x := range v {
			if _, isString := x.(string); isString && sensitiveHeader(k) {
				v[k] = redacted
				continue
			}
			v[k] = scrubValue(x)
		}
	}
	return v
}
