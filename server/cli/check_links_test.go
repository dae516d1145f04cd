package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/server/cli"
)

// TestCheckSkipsLinksOutsideWorkspace: a route file that is a symbolic
// link to a file outside the workspace is reported as skipped, with a
// warning, and nothing of its content is printed.
func TestCheckSkipsLinksOutsideWorkspace(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret.conf")
	if err := os.WriteFile(secret, []byte("SECRET-CONTENT {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "apps", "ok.conf"), []byte("location /ok/ { return 204; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(root, "apps", "ext.conf")); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		var out, errOut bytes.Buffer
		code := cli.RunCheck(cli.CheckOptions{Root: root, Format: format}, &out, &errOut)
		if code != cli.ExitOK {
			t.Errorf("%s: exit %d, want 0 for a warning:\n%s%s", format, code, out.String(), errOut.String())
		}
		if strings.Contains(out.String(), "SECRET") {
			t.Errorf("%s: the linked file's content was printed:\n%s", format, out.String())
		}
		if !strings.Contains(out.String(), "outside-workspace") || !strings.Contains(out.String(), outside) {
			t.Errorf("%s: want the outside-workspace warning naming where the link leads:\n%s", format, out.String())
		}
		if format == "text" && !strings.Contains(out.String(), "skipped: apps/ext.conf") {
			t.Errorf("the summary should list the skipped file:\n%s", out.String())
		}
	}
}
