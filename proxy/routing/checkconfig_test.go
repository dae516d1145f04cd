package routing

import (
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

func TestCheckConfig(t *testing.T) {
	cfg, diags := CheckConfig(t.TempDir(), []byte(`{"retention": {"reports": 5}, "allowedHosts": ["dev.example.com"]}`))
	if len(diags) != 0 || cfg.Retention.Reports != 5 || cfg.Listen != DefaultListen || len(cfg.Apps) != 1 {
		t.Errorf("%+v %v", cfg, diags)
	}
	_, diags = CheckConfig(t.TempDir(), []byte(`{"retention": {"reports": 0}}`))
	if len(diags) != 1 || diags[0].Severity != routefile.Error || !strings.Contains(diags[0].Message, "retention.reports") {
		t.Errorf("%v", diags)
	}
}
