package calliope

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestHistoryIsBounded: the newest MaxConversations conversations are
// kept, each with its newest MaxTurns turns, and they survive reopening.
func TestHistoryIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "calliope.db")
	h, err := OpenHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Unix(1_700_000_000, 0).UTC()
	for i := range MaxConversations + 5 {
		if err := h.Append(fmt.Sprintf("c%02d", i), Turn{Role: "user", Text: fmt.Sprintf("q%d", i), At: base.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range MaxTurns + 20 {
		if err := h.Append("c54", Turn{Role: "assistant", Text: fmt.Sprint(i), At: base.Add(100 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	h.Close()
	h, err = OpenHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	list, err := h.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != MaxConversations || list[0].ID != "c54" || list[len(list)-1].ID != "c05" {
		t.Errorf("%d conversations, newest %s, oldest %s", len(list), list[0].ID, list[len(list)-1].ID)
	}
	if h.Conversation("c00") != nil {
		t.Error("the oldest conversation was not pruned")
	}
	turns := h.Conversation("c54")
	if len(turns) != MaxTurns || turns[len(turns)-1].Text != fmt.Sprint(MaxTurns+19) || turns[0].Text != "20" {
		t.Errorf("%d turns, first %q", len(turns), turns[0].Text)
	}
}
