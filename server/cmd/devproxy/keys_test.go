package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
)

func runKeysCmd(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"keys"}, args...), &stdout, &stderr); code != want {
		t.Fatalf("devproxy keys %q = %d, want %d; stderr: %s", args, code, want, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// TestKeysCommand: create prints the key alone on its last line, the
// running proxy's Keys accept it, list never shows a secret, revoke ends it.
func TestKeysCommand(t *testing.T) {
	root, data := t.TempDir(), t.TempDir()
	out, _ := runKeysCmd(t, 0, "create", "--role", "read-only", "--name", "teammate", "--root", root, "--data-dir", data)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	plain := lines[len(lines)-1]
	if len(lines) < 2 || !strings.HasPrefix(plain, "dvp_") || strings.ContainsAny(plain, " \t") {
		t.Fatalf("the key is not alone on the last line:\n%s", out)
	}
	if strings.Count(out, plain) != 1 {
		t.Errorf("the key is printed more than once:\n%s", out)
	}
	keys, err := auth.OpenKeys(filepath.Join(data, auth.KeysFileName))
	if err != nil {
		t.Fatal(err)
	}
	key, ok := keys.Verify(plain)
	keys.Close()
	if !ok || key.Role != auth.ReadOnly || key.Name != "teammate" {
		t.Fatalf("the proxy does not take the CLI's key: %+v %v", key, ok)
	}

	adminOut, _ := runKeysCmd(t, 0, "create", "--root", root, "--data-dir", data, "--role", "admin")
	admin := strings.TrimSpace(adminOut[strings.LastIndex(strings.TrimSuffix(adminOut, "\n"), "\n")+1:])

	list, _ := runKeysCmd(t, 0, "list", "--root", root, "--data-dir", data)
	listJSON, _ := runKeysCmd(t, 0, "list", "--format", "json", "--root", root, "--data-dir", data)
	for _, text := range []string{list, listJSON} {
		if !strings.Contains(text, key.ID) || !strings.Contains(text, "teammate") || !strings.Contains(text, "admin") {
			t.Errorf("list misses a key:\n%s", text)
		}
		for _, secret := range []string{plain, admin, plain[4:20], admin[4:20]} {
			if strings.Contains(text, secret) {
				t.Errorf("list shows a secret:\n%s", text)
			}
		}
	}
	var parsed []auth.Key
	if err := json.Unmarshal([]byte(listJSON), &parsed); err != nil || len(parsed) != 2 {
		t.Errorf("list --format json: %v %s", err, listJSON)
	}
	b, _ := os.ReadFile(filepath.Join(data, auth.KeysFileName))
	if bytes.Contains(b, []byte(plain[4:])) || bytes.Contains(b, []byte(admin[4:])) {
		t.Error("keys.db holds a plaintext key")
	}

	out, _ = runKeysCmd(t, 0, "revoke", key.ID, "--root", root, "--data-dir", data)
	if !strings.Contains(out, "Revoked") {
		t.Errorf("revoke says %q", out)
	}
	keys, _ = auth.OpenKeys(filepath.Join(data, auth.KeysFileName))
	if _, ok := keys.Verify(plain); ok {
		t.Error("a revoked key is still taken")
	}
	_, stderr := runKeysCmd(t, 1, "revoke", "--root", root, "--data-dir", data, key.ID)
	if !strings.Contains(stderr, "no such key") {
		t.Errorf("revoking again: %q", stderr)
	}
}

// TestKeysDefaultDataDir: without --data-dir the keys live in the
// workspace's data folder, the health store's.
func TestKeysDefaultDataDir(t *testing.T) {
	root := t.TempDir()
	out, _ := runKeysCmd(t, 0, "create", "--role", "admin", "--root", root)
	if !strings.Contains(out, os.Getenv("DEVPROXY_STATE_DIR")) || !strings.Contains(out, auth.KeysFileName) {
		t.Errorf("the key is not kept in the state folder:\n%s", out)
	}
}

func TestKeysUsageErrors(t *testing.T) {
	root := t.TempDir()
	for _, args := range [][]string{
		{},
		{"rotate"},
		{"create", "--root", root},
		{"create", "--role", "owner", "--root", root, "--data-dir", t.TempDir()},
		{"revoke", "--root", root},
		{"list", "extra", "--root", root},
		{"list", "--format", "xml", "--root", root},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"keys"}, args...), &stdout, &stderr); code != 2 {
			t.Errorf("keys %q = %d, want 2; stderr %s", args, code, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("keys %q printed on stdout: %s", args, stdout.String())
		}
	}
}
