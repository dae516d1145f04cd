package join

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/internal/schematest"
)

// TestMessagesMatchTheSchemas validates the messages as they crossed the
// wire: the params Join and Update sent (as the owner read them), and the
// Members of a register reply and of a devproxy/members notification (as
// a member read them).
func TestMessagesMatchTheSchemas(t *testing.T) {
	register := schematest.Compile(t, "join-register.schema.json")
	members := schematest.Compile(t, "join-members.schema.json")

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
	schematest.Validate(t, members, "a register reply", reply["result"])

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
	schematest.Validate(t, members, "a devproxy/members notification", note)
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
		schematest.Validate(t, register, fmt.Sprintf("params %d", i), p)
	}
	mu.Unlock()
	b, _ := json.Marshal(s.owner.Members())
	schematest.Validate(t, members, "Owner.Members", b)

	// The schemas are strict.
	schematest.Refuses(t, register, "an unknown field", `{"client":{"pid":1,"kind":"serve","name":"x"},"folders":[],"extra":1}`)
	schematest.Refuses(t, register, "an unknown kind", `{"client":{"pid":1,"kind":"emacs","name":"x"},"folders":[]}`)
	schematest.Refuses(t, register, "a name with a newline", `{"client":{"pid":1,"kind":"serve","name":"a\nb"},"folders":[]}`)
	schematest.Refuses(t, register, "a pattern leaving the root", `{"client":{"pid":1,"kind":"serve","name":"x"},"folders":[{"root":"/r","apps":["../x/*.conf"]}]}`)
	schematest.Refuses(t, register, "an absolute pattern", `{"client":{"pid":1,"kind":"serve","name":"x"},"folders":[{"root":"/r","apps":["/x/*.conf"]}]}`)
	schematest.Refuses(t, register, "no folders", `{"client":{"pid":1,"kind":"serve","name":"x"}}`)
	schematest.Refuses(t, members, "a member without an id", `{"owner":{"pid":1,"kind":"serve","name":"o","folders":[]},"members":[{"pid":2,"kind":"vscode","name":"m","folders":[]}]}`)
	schematest.Refuses(t, members, "null folders", `{"owner":{"pid":1,"kind":"serve","name":"o","folders":null},"members":[]}`)
}
