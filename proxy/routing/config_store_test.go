package routing

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreSettings reads dataDir and retention, the health store's
// settings, and reports bad values in words at the value.
func TestStoreSettings(t *testing.T) {
	root := filepath.Join(t.TempDir(), "shop")
	c, diags := loadConfig(root, ConfigFile, []byte(`{"dataDir": "../shop-data", "retention": {"reports": 20, "days": 7}}`))
	if len(diags) != 0 {
		t.Errorf("diagnostics: %v", diags)
	}
	if want := filepath.Join(filepath.Dir(root), "shop-data"); c.DataDir != want {
		t.Errorf("dataDir = %q, want %q (relative to the root)", c.DataDir, want)
	}
	if c.Retention != (RetentionConfig{Reports: 20, Days: 7}) {
		t.Errorf("retention = %+v", c.Retention)
	}
	// Settings from the editor fill what devproxy.json leaves empty.
	if o := (Config{Retention: RetentionConfig{Days: 3}}).Over(c); o.Retention != (RetentionConfig{Reports: 20, Days: 3}) || o.DataDir != c.DataDir {
		t.Errorf("Over: %+v", o)
	}

	tests := []struct{ name, doc, want string }{
		{"dataDir inside the workspace", `{"dataDir": ".devproxy/data"}`,
			`devproxy.json:1:13: error: dataDir: ".devproxy/data" is inside the workspace, where every write of the health store would trigger a reload; choose a folder outside it; using the default [config]`},
		{"dataDir the workspace itself", `{"dataDir": "` + root + `"}`,
			`devproxy.json:1:13: error: dataDir: "` + root + `" is inside the workspace, where every write of the health store would trigger a reload; choose a folder outside it; using the default [config]`},
		{"dataDir not a string", `{"dataDir": 5}`,
			`devproxy.json:1:13: error: "dataDir" must be a folder outside the workspace, such as "/home/me/.cache/devproxy/shop"; it is ignored [config]`},
		{"retention not an object", `{"retention": 50}`,
			`devproxy.json:1:15: error: "retention" must be an object, such as {"reports": 50, "days": 14}; it is ignored [config]`},
		{"reports zero", `{"retention": {"reports": 0}}`,
			`devproxy.json:1:27: error: "retention.reports" must be a whole number of at least 1, the reports kept per route, such as 50; it is ignored [config]`},
		{"reports a fraction", `{"retention": {"reports": 2.5}}`,
			`devproxy.json:1:27: error: "retention.reports" must be a whole number of at least 1, the reports kept per route, such as 50; it is ignored [config]`},
		{"days negative", `{"retention": {"days": -1}}`,
			`devproxy.json:1:24: error: "retention.days" must be a whole number of days, 0 for no age limit, such as 14; it is ignored [config]`},
		{"days a string", `{"retention": {"days": "7"}}`,
			`devproxy.json:1:24: error: "retention.days" must be a whole number of days, 0 for no age limit, such as 14; it is ignored [config]`},
		{"unknown retention key", `{"retention": {"count": 5}}`,
			`devproxy.json:1:16: warning: unknown setting "retention.count"; it is ignored (retention has "reports" and "days") [config]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := loadConfig(root, ConfigFile, []byte(tt.doc))
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("diagnostics = %q\nwant %q", got, tt.want)
			}
			if strings.HasPrefix(tt.name, "dataDir") && c.DataDir != "" {
				t.Errorf("a refused dataDir is kept: %q", c.DataDir)
			}
			if c.Retention != (RetentionConfig{}) {
				t.Errorf("a bad retention is kept: %+v", c.Retention)
			}
		})
	}
}
