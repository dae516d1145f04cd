package auth_test

import (
	"net/http"
	"path/filepath"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
)

// The owner wraps its local handler once; the proxy marks the requests
// it hands over from the tunnel listener with auth.WithTunnel.
func ExampleAuthenticator_Wrap() {
	dataDir := "/tmp/devproxy-example" // node.HealthFor(...).DataDir
	keys, err := auth.OpenKeys(filepath.Join(dataDir, auth.KeysFileName))
	if err != nil {
		return
	}
	defer keys.Close()
	audit, err := auth.OpenAudit(filepath.Join(dataDir, auth.AuditFileName), 0)
	if err != nil {
		return
	}
	defer audit.Close()
	a := auth.New(auth.Options{Keys: keys, Audit: audit})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /devproxy/api/apps/install", func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.PrincipalOf(r.Context()) // "local", or the key's id, name and role
		_ = p
	})
	handler := a.Wrap(mux)
	_ = handler // httpproxy's SetLocalHandler(handler); through the tunnel: r.WithContext(auth.WithTunnel(ctx))
}
