package tunnel

import (
	"os"
	"strings"
)

func getenv(k string) string { return os.Getenv(k) }

// secrets are the environment variables whose values never appear in a
// log line, an error or a State.
var secrets = []string{"NGROK_AUTHTOKEN"}

// redact blanks out the value of every secret in s.
func (m *Manager) redact(s string) string {
	for _, k := range secrets {
		if v := m.opts.Env(k); len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}
