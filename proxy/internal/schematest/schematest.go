// Package schematest holds the tests of proxy/join and proxy/live to the
// JSON Schemas in schemas/ (one source for Go and TypeScript): it
// compiles a schema, with formats asserted, and checks that a document
// matches it or that the schema refuses one.
package schematest

import (
	"bytes"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Path is the file of the schema name ("join-register.schema.json").
func Path(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "..", "schemas", name)
}

// Compile compiles the schema name, asserting formats; it fails the
// test when the schema does not compile.
func Compile(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(Path(name))
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// Validate fails the test unless raw, named what, matches sch.
func Validate(t testing.TB, sch *jsonschema.Schema, what string, raw []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("%s does not match the schema: %v\n%s", what, err, raw)
	}
}

// Refuses fails the test if sch accepts raw, named what.
func Refuses(t testing.TB, sch *jsonschema.Schema, what, raw string) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if sch.Validate(doc) == nil {
		t.Errorf("the schema accepts %s: %s", what, raw)
	}
}
