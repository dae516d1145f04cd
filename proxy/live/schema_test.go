package live

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func schemaPath() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "schemas", "live-subscribe.schema.json")
}

func validate(t *testing.T, sch *jsonschema.Schema, what string, raw []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("%s does not match the schema: %v\n%s", what, err, raw)
	}
}

func refuses(t *testing.T, sch *jsonschema.Schema, what, raw string) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if sch.Validate(doc) == nil {
		t.Errorf("the schema accepts %s: %s", what, raw)
	}
}

// TestSubscribeMatchesTheSchema validates examples and the messages as
// they crossed the wire (the params the Go client sent, as the hub read
// them, and the hub's answer) against schemas/live-subscribe.schema.json,
// and holds its topics to DefaultTopics.
func TestSubscribeMatchesTheSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(schemaPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range []string{
		`{"topics": ["routes", "health", "config", "metrics"]}`,
		`{"topics": ["health"]}`,
		`{"topics": []}`,
	} {
		validate(t, sch, "the example "+ex, []byte(ex))
	}
	refuses(t, sch, "an unknown topic", `{"topics": ["bogus"]}`)
	refuses(t, sch, "a topic twice", `{"topics": ["routes", "routes"]}`)
	refuses(t, sch, "no topics", `{}`)
	refuses(t, sch, "a string for the list", `{"topics": "routes"}`)
	refuses(t, sch, "an unknown field", `{"topics": [], "since": 3}`)

	var mu sync.Mutex
	var sent [][]byte
	s := startHub(t, Options{}, func(h *Hub) {
		h.recvParams = func(method string, params json.RawMessage) {
			if method == MethodSubscribe {
				mu.Lock()
				sent = append(sent, bytes.Clone(params))
				mu.Unlock()
			}
		}
	})
	cl, err := Dial(context.Background(), s.addr, DefaultTopics, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var result TopicsParams
	if err := cl.Call(context.Background(), MethodSubscribe, TopicsParams{Topics: []string{}}, &result); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(result)
	validate(t, sch, "the hub's answer", b)
	mu.Lock()
	if len(sent) != 2 {
		t.Errorf("the hub read %d subscribe params, want 2", len(sent))
	}
	for _, p := range sent {
		validate(t, sch, "the params Dial sent", p)
	}
	mu.Unlock()

	raw, err := os.ReadFile(schemaPath())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Defs struct {
			Topic struct {
				Enum []string `json:"enum"`
			} `json:"topic"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(doc.Defs.Topic.Enum, DefaultTopics) {
		t.Errorf("the schema's topics %v, DefaultTopics %v", doc.Defs.Topic.Enum, DefaultTopics)
	}
}
