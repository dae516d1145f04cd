package nginxtest

import "regexp"

// nginxSignature is the line nginx's own pages end with: its name and
// version, or the name alone with server_tokens off.
var nginxSignature = regexp.MustCompile(`<hr><center>nginx(/[0-9.]+)?</center>`)

// DevproxySignature rewrites the signature line of nginx's pages
// (ngx_http_special_response.c) to the one devproxy writes in its place,
// so that an nginx page and devproxy's can be compared byte for byte.
func DevproxySignature(body string) string {
	return nginxSignature.ReplaceAllLiteralString(body, "<hr><center>devproxy</center>")
}
