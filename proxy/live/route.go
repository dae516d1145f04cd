package live

import "net/http"

// Route serves GET /devproxy/ws for both of its clients: a request that
// carries an Authorization header goes to join (proxy/join's owner: a
// devproxy process joining with its token), every other to live (the
// hub). A browser cannot set Authorization on a WebSocket handshake, so
// pages always reach the hub; and the owner refuses any request with an
// Origin, so a page that found a way would still not become a member.
func Route(join, live http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["Authorization"]; ok {
			join.ServeHTTP(w, r)
			return
		}
		live.ServeHTTP(w, r)
	})
}
