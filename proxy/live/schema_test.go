package live

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/internal/schematest"
)

// TestSubscribeMatchesTheSchema validates examples and the messages as
// they crossed the wire (the params the Go client sent, as the hub read
// them, and the hub's answer) against schemas/live-subscribe.schema.json,
// and holds its topics to DefaultTopics.
func TestSubscribeMatchesTheSchema(t *testing.T) {
	sch := schematest.Compile(t, "live-subscribe.schema.json")
	for _, ex := range []string{
		`{"topics": ["routes", "health", "config", "metrics"]}`,
		`{"topics": ["health"]}`,
		`{"topics": []}`,
	} {
		schematest.Validate(t, sch, "the example "+ex, []byte(ex))
	}
	schematest.Refuses(t, sch, "an unknown topic", `{"topics": ["bogus"]}`)
	schematest.Refuses(t, sch, "a topic twice", `{"topics": ["routes", "routes"]}`)
	schematest.Refuses(t, sch, "no topics", `{}`)
	schematest.Refuses(t, sch, "a string for the list", `{"topics": "routes"}`)
	schematest.Refuses(t, sch, "an unknown field", `{"topics": [], "since": 3}`)

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
	schematest.Validate(t, sch, "the hub's answer", b)
	mu.Lock()
	if len(sent) != 2 {
		t.Errorf("the hub read %d subscribe params, want 2", len(sent))
	}
	for _, p := range sent {
		schematest.Validate(t, sch, "the params Dial sent", p)
	}
	mu.Unlock()

	raw, err := os.ReadFile(schematest.Path("live-subscribe.schema.json"))
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
