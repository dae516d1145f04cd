package routing

import "github.com/devtunnelproxy/devproxy/proxy/routefile"

// CheckConfig reads data as the devproxy.json of the folder root, the way
// a Workspace does, without touching the workspace: what the settings would
// be and the findings about them (errors for values it would ignore). The
// management API validates a settings change with it before writing.
func CheckConfig(root string, data []byte) (Config, []routefile.Diagnostic) {
	if data == nil {
		data = []byte{}
	}
	cfg, diags := loadConfig(root, ConfigFile, data)
	return cfg.withDefaults(), diags
}
