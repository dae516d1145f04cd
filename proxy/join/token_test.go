package join

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestStateDir(t *testing.T) {
	t.Setenv("DEVPROXY_STATE_DIR", "/tmp/explicit")
	t.Setenv("XDG_STATE_HOME", "/tmp/xdg")
	if d, _ := StateDir(); d != "/tmp/explicit" {
		t.Errorf("with DEVPROXY_STATE_DIR: %s", d)
	}
	t.Setenv("DEVPROXY_STATE_DIR", "")
	if d, _ := StateDir(); d != filepath.Join("/tmp/xdg", "devproxy") {
		t.Errorf("with XDG_STATE_HOME: %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "")
	home, _ := os.UserHomeDir()
	if d, _ := StateDir(); d != filepath.Join(home, ".local", "state", "devproxy") {
		t.Errorf("by default: %s", d)
	}
}

// TestTokenIsCreatedPrivate: a new token is 64 hex digits in a 0600 file
// in a 0700 directory, and reading it again gives the same token.
func TestTokenIsCreatedPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := filepath.Join(t.TempDir(), "state", "devproxy")
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 64 || strings.Trim(tok, "0123456789abcdef") != "" {
		t.Errorf("token %q is not 64 hex digits", tok)
	}
	st, err := os.Stat(TokenFile(dir))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v %v, want 0600", st.Mode().Perm(), err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v %v, want 0700", st.Mode().Perm(), err)
	}
	again, err := LoadOrCreateToken(dir)
	if err != nil || again != tok {
		t.Errorf("read again: %q %v, want %q", again, err, tok)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the state directory holds %d files, want the token alone", len(entries))
	}
}

// TestTokenFileOthersCanReadIsRefused: a 0644 token file, a symlink, and
// a file with no token are refused with what to do.
func TestTokenFileOthersCanReadIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := t.TempDir()
	path := TokenFile(dir)
	if err := os.WriteFile(path, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	_, err := LoadOrCreateToken(dir)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Errorf("a 0644 token file: %v, want an error saying chmod 600 %s", err, path)
	}
	os.Chmod(path, 0o600)
	if tok, err := LoadOrCreateToken(dir); err != nil || tok != strings.Repeat("ab", 32) {
		t.Errorf("after chmod 600: %q %v", tok, err)
	}

	other := t.TempDir()
	target := filepath.Join(other, "elsewhere")
	os.WriteFile(target, []byte(strings.Repeat("cd", 32)), 0o600)
	os.Symlink(target, TokenFile(other))
	if _, err := LoadOrCreateToken(other); err == nil {
		t.Error("a symlinked token file was read")
	}

	junk := t.TempDir()
	os.WriteFile(TokenFile(junk), []byte("not a token"), 0o600)
	if _, err := LoadOrCreateToken(junk); err == nil || !strings.Contains(err.Error(), TokenFile(junk)) {
		t.Errorf("a file without a token: %v", err)
	}
}

// TestTokenFileOfAnotherUserIsRefused needs root, to give the file away.
func TestTokenFileOfAnotherUserIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" || os.Getuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := t.TempDir()
	path := TokenFile(dir)
	os.WriteFile(path, []byte(strings.Repeat("ab", 32)), 0o600)
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Skip(err)
	}
	if _, err := LoadOrCreateToken(dir); err == nil || !strings.Contains(err.Error(), "belongs to user 65534") {
		t.Errorf("another user's token file: %v", err)
	}
}

// TestTokenCreatorsAgree: processes starting at once (goroutines here)
// all get the one token that was written.
func TestTokenCreatorsAgree(t *testing.T) {
	for round := range 20 {
		dir := filepath.Join(t.TempDir(), "devproxy")
		const n = 8
		toks := make([]string, n)
		errs := make([]error, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				toks[i], errs[i] = LoadOrCreateToken(dir)
			}()
		}
		start.Done()
		wg.Wait()
		for i := range n {
			if errs[i] != nil || toks[i] != toks[0] {
				t.Fatalf("round %d: creator %d got %q %v, creator 0 %q", round, i, toks[i], errs[i], toks[0])
			}
		}
		if b, _ := os.ReadFile(TokenFile(dir)); strings.TrimSpace(string(b)) != toks[0] {
			t.Fatalf("round %d: the file holds %q, the creators %q", round, b, toks[0])
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("round %d: %d files left in the state directory", round, len(entries))
		}
	}
}
