package live

import (
	"net/http"
	"strings"
)

// APIKeyPrefix starts every API key (proxy/auth): a client of the hub
// that authenticated with a key (through the tunnel) sends it as
// Authorization: Bearer dvp_…, which is not a join token.
const APIKeyPrefix = "dvp_"

// Route serves GET /devproxy/ws for both of its clients: a request that
// carries an Authorization header goes to join (proxy/join's owner: a
// devproxy process joining with its token), unless that header is an API
// key's; every other goes to live (the hub). A browser cannot set
// Authorization on a WebSocket handshake, so pages always reach the hub;
// and the owner refuses any request with an Origin, so a page that found
// a way would still not become a member.
func Route(join, live http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := r.Header["Authorization"]; ok && !(len(a) == 1 && strings.HasPrefix(a[0], "Bearer "+APIKeyPrefix)) {
			join.ServeHTTP(w, r)
			return
		}
		live.ServeHTTP(w, r)
	})
}
