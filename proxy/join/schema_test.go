package join

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(filepath.Join(filepath.Dir(here), "..", "..", "schemas", name))
	if err != nil {
		t.Fatal(err)
	}
	return sch
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

// TestMessagesMatchTheSchemas validates the messages as they crossed the
// wire: the params Join and Update sent (as the owner read them), and the
// Members of a register reply and of a devproxy/members notification (as
// a member read them).
func TestMessagesMatchTheSchemas(t *testing.T) {
	register := compileSchema(t, "join-register.schema.json")
	members := compileSchema(t, "join-members.schema.json")

	var mu sync.Mutex
	var sent [][]byte
	s := startOwner(t, func(o *Owner) {
		o.recvParams = func(method string, params json.RawMessage) {
			if method == MethodRegister || method == MethodUpdate {
				mu.Lock()
				sent = append(sent, bytes.Clone(params))
				mu.Unlock()
			}
		}
	})
	ws, _, err := dialRaw(t, s.addr, bearer(s.token))
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := rawCall(t, ws, 1, MethodRegister, RegisterParams{Client: client("raw"), Folders: []FolderReg{}})
	validate(t, members, "a register reply", reply["result"])

	f := folder(t)
	f.Apps, f.Overrides = []string{"apps/*.conf", "services/*/routes/*.conf"}, []string{"overrides/*.conf"}
	m := s.join(t, "member", f, folder(t))
	// The raw member hears of the other, in a notification.
	var note json.RawMessage
	for note == nil {
		ws.SetReadDeadline(timeIn(wait))
		var got map[string]json.RawMessage
		if err := ws.ReadJSON(&got); err != nil {
			t.Fatal(err)
		}
		if string(got["method"]) == `"`+MethodMembers+`"` {
			note = got["params"]
		}
	}
	validate(t, members, "a devproxy/members notification", note)
	if !strings.Contains(string(note), `"apps":["apps/*.conf","services/*/routes/*.conf"]`) {
		t.Errorf("the notification lacks the member's patterns: %s", note)
	}
	ctx, cancel := ctxIn(wait)
	defer cancel()
	if err := m.Update(ctx, []FolderReg{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(sent) != 3 {
		t.Errorf("the owner read %d register or update params, want 3", len(sent))
	}
	for i, p := range sent {
		validate(t, register, fmt.Sprintf("params %d", i), p)
	}
	mu.Unlock()
	b, _ := json.Marshal(s.owner.Members())
	validate(t, members, "Owner.Members", b)

	// The schemas are strict.
	refuses(t, register, "an unknown field", `{"client":{"pid":1,"kind":"serve","name":"x"},"folders":[],"extra":1}`)
	refuses(t, register, "an unknown kind", `{"client":{"pid":1,"kind":"emacs","name":"x"},"folders":[]}`)
	refuses(t, register, "a name with a newline", `{"client":{"pid":1,"kind":"serve","name":"a\nb"},"folders":[]}`)
	refuses(t, register, "a pattern leaving the root", `{"client":{"pid":1,"kind":"serve","name":"x"},"folders":[{"root":"/r","apps":["../x/*.conf"]}]}`)
	refuses(t, register, "an absolute pattern", `{"client":{"pid":1,"kind":"serve","name":"x"},"folders":[{"root":"/r","apps":["/x/*.conf"]}]}`)
	refuses(t, register, "no folders", `{"client":{"pid":1,"kind":"serve","name":"x"}}`)
	refuses(t, members, "a member without an id", `{"owner":{"pid":1,"kind":"serve","name":"o","folders":[]},"members":[{"pid":2,"kind":"vscode","name":"m","folders":[]}]}`)
	refuses(t, members, "null folders", `{"owner":{"pid":1,"kind":"serve","name":"o","folders":null},"members":[]}`)
}
