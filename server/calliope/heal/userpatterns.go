package heal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/health"
)

// PatternsDir is where a workspace keeps its own patterns.
const PatternsDir = ".devproxy/patterns"

// UserPattern is one .devproxy/patterns/*.json file
// (schemas/calliope-pattern.schema.json). Matching is declarative, on a
// report's fields only: every field of Match that is set must hold.
type UserPattern struct {
	Schema      string    `json:"$schema,omitempty"`
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Match       UserMatch `json:"match"`
	Advice      string    `json:"advice"` // markdown
	AppChange   *UserApp  `json:"appChange,omitempty"`
	File        string    `json:"-"` // the display path it was read from
}

// UserMatch is what a user pattern matches on.
type UserMatch struct {
	HTTPStatus     *int    `json:"httpStatus,omitempty"`     // the page's status
	ReasonContains *string `json:"reasonContains,omitempty"` // in the report's reason, the hot-reload's or an asset's (case-insensitive)
	AssetStatus    *int    `json:"assetStatus,omitempty"`    // some asset answered this status
	ContentType    *string `json:"contentType,omitempty"`    // the page's (when fetched) or some asset's media type starts with this
	PathPrefix     *string `json:"pathPrefix,omitempty"`     // the route starts with this
	Framework      *string `json:"framework,omitempty"`      // next, vite, storybook, cra, socket.io
}

// UserApp is a user pattern's app-side change.
type UserApp struct {
	File    string `json:"file"`
	Snippet string `json:"snippet"`
}

// frameworks are the values of match.framework (the schema's enum).
var frameworks = []string{"next", "vite", "storybook", "cra", "socket.io"}

var patternID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// LoadUserPatterns reads root/.devproxy/patterns/*.json. A file that does
// not decode or breaks the schema's rules is skipped with an error naming
// the file and the field; the others load. A missing folder is no error.
func LoadUserPatterns(root string) ([]UserPattern, []error) {
	dir := filepath.Join(root, filepath.FromSlash(PatternsDir))
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, []error{err}
	}
	sort.Strings(names)
	var out []UserPattern
	var errs []error
	ids := map[string]string{}
	for _, name := range names {
		rel := PatternsDir + "/" + filepath.Base(name)
		data, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rel, err))
			continue
		}
		p, err := ParseUserPattern(rel, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, builtin := builtinByID(p.ID); builtin {
			errs = append(errs, fmt.Errorf("%s: \"id\" %q is a built-in pattern's; choose another", rel, p.ID))
			continue
		}
		if other, dup := ids[p.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: \"id\" %q is already used by %s", rel, p.ID, other))
			continue
		}
		ids[p.ID] = rel
		out = append(out, p)
	}
	return out, errs
}

// ParseUserPattern decodes one pattern file (rel names it in errors) and
// checks it as the schema does.
func ParseUserPattern(rel string, data []byte) (UserPattern, error) {
	var p UserPattern
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return p, fmt.Errorf("%s: %q must be %s, not %s", rel, te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		if msg := err.Error(); strings.Contains(msg, "unknown field") {
			return p, fmt.Errorf("%s: %s (allowed: id, title, description, match, advice, appChange)", rel, strings.TrimPrefix(msg, "json: "))
		}
		return p, fmt.Errorf("%s: not valid JSON: %w", rel, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return p, fmt.Errorf("%s: text after the pattern object", rel)
	}
	p.File = rel
	switch {
	case p.ID == "":
		return p, fmt.Errorf("%s: \"id\" is required", rel)
	case !patternID.MatchString(p.ID):
		return p, fmt.Errorf("%s: \"id\" %q must be lower-case letters, digits and dashes (at most 64)", rel, p.ID)
	case strings.TrimSpace(p.Title) == "":
		return p, fmt.Errorf("%s: \"title\" is required", rel)
	case strings.TrimSpace(p.Advice) == "":
		return p, fmt.Errorf("%s: \"advice\" is required", rel)
	case (p.Match == UserMatch{}):
		return p, fmt.Errorf("%s: \"match\" needs at least one of httpStatus, reasonContains, assetStatus, contentType, pathPrefix, framework", rel)
	}
	for field, v := range map[string]*int{"match.httpStatus": p.Match.HTTPStatus, "match.assetStatus": p.Match.AssetStatus} {
		if v != nil && (*v < 100 || *v > 599) {
			return p, fmt.Errorf("%s: %q must be an HTTP status from 100 to 599, not %d", rel, field, *v)
		}
	}
	if m := p.Match; m.PathPrefix != nil && !strings.HasPrefix(*m.PathPrefix, "/") {
		return p, fmt.Errorf("%s: \"match.pathPrefix\" must start with /, not %q", rel, *m.PathPrefix)
	}
	if m := p.Match; m.Framework != nil && !slices.Contains(frameworks, *m.Framework) {
		return p, fmt.Errorf("%s: \"match.framework\" must be one of %s, not %q", rel, strings.Join(frameworks, ", "), *m.Framework)
	}
	for field, v := range map[string]*string{"match.reasonContains": p.Match.ReasonContains, "match.contentType": p.Match.ContentType} {
		if v != nil && *v == "" {
			return p, fmt.Errorf("%s: %q must not be empty", rel, field)
		}
	}
	if p.AppChange != nil && (p.AppChange.File == "" || p.AppChange.Snippet == "") {
		return p, fmt.Errorf("%s: \"appChange\" needs both \"file\" and \"snippet\"", rel)
	}
	return p, nil
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "struct", "ptr":
		return "an object"
	}
	return "a " + k
}

// Pattern is the catalogue entry of a user pattern.
func (u UserPattern) Pattern() Pattern {
	return Pattern{ID: u.ID, Title: u.Title, Detects: u.Description, Fix: "see the advice", Source: u.File}
}

// matches reports whether u matches r (pg: the page as Detect fetched it,
// nil when it did not), and the fields that did, as evidence.
func (u UserPattern) matches(r health.Report, pg *page) ([]string, bool) {
	m := u.Match
	var ev []string
	if m.HTTPStatus != nil {
		if r.HTTPStatus != *m.HTTPStatus {
			return nil, false
		}
		ev = append(ev, fmt.Sprintf("httpStatus %d", r.HTTPStatus))
	}
	if m.PathPrefix != nil {
		if !strings.HasPrefix(r.Route, *m.PathPrefix) {
			return nil, false
		}
		ev = append(ev, "route "+r.Route+" under "+*m.PathPrefix)
	}
	if m.ReasonContains != nil {
		want := strings.ToLower(*m.ReasonContains)
		texts := []string{r.Reason}
		if r.HMR != nil {
			texts = append(texts, r.HMR.Reason)
		}
		for _, a := range r.Assets {
			texts = append(texts, a.Reason)
		}
		hit := ""
		for _, t := range texts {
			if t != "" && strings.Contains(strings.ToLower(t), want) {
				hit = t
				break
			}
		}
		if hit == "" {
			return nil, false
		}
		ev = append(ev, "reason: "+hit)
	}
	if m.AssetStatus != nil {
		hit := ""
		for _, a := range r.Assets {
			if a.Status == *m.AssetStatus {
				hit = a.URL
				break
			}
		}
		if hit == "" {
			return nil, false
		}
		ev = append(ev, fmt.Sprintf("asset %s answered %d", hit, *m.AssetStatus))
	}
	if m.ContentType != nil {
		want := strings.ToLower(*m.ContentType)
		hit := ""
		if pg != nil && strings.HasPrefix(mediaType(pg.contentType), want) {
			hit = "the page is " + pg.contentType
		}
		for _, a := range r.Assets {
			if hit == "" && strings.HasPrefix(mediaType(a.ContentType), want) {
				hit = "asset " + a.URL + " is " + a.ContentType
			}
		}
		if hit == "" {
			return nil, false
		}
		ev = append(ev, hit)
	}
	if m.Framework != nil {
		fw := frameworkOfAssets(r)
		if fw == "" && pg != nil {
			fw = frameworkOfPage(pg.body, "")
		}
		if !strings.EqualFold(fw, *m.Framework) {
			return nil, false
		}
		ev = append(ev, "framework "+fw)
	}
	return ev, true
}

func (d *detector) user(r health.Report, pg *page) {
	for _, u := range d.in.UserPatterns {
		ev, ok := u.matches(r, pg)
		if !ok {
			continue
		}
		f := findingOf(u.ID, r)
		f.Summary = u.Title
		f.Evidence = append([]string{"user pattern " + u.File}, ev...)
		f.Advice = u.Advice
		if u.AppChange != nil {
			f.AppChange = &AppChange{File: u.AppChange.File, Description: u.Title, Snippet: u.AppChange.Snippet}
		}
		d.add(f)
	}
}
