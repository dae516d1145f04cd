package health

import "time"

// Status is a route's runtime health.
type Status string

const (
	StatusOK      Status = "ok"
	StatusWarning Status = "warning"
	StatusError   Status = "error"
	// StatusUnknown is a route that was not probed: an inactive block, or
	// a route the scan was not asked about.
	StatusUnknown Status = "unknown"
)

// rank orders statuses from best to worst, for "the worst of".
func (s Status) rank() int {
	switch s {
	case StatusOK:
		return 0
	case StatusUnknown:
		return 1
	case StatusWarning:
		return 2
	}
	return 3
}

func worse(a, b Status) Status {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Report is one route's health (schemas/health-report.schema.json). The
// config state (Active, InactiveCode: what the engine decided) and the
// runtime health (Status and everything after it: what the probe found)
// are separate fields: an inactive block is "unknown", never "ok".
type Report struct {
	// Route is the block's identity ("/app/"); File and Line are where it
	// is written; Modifier is "" for a prefix, "^~" or "=".
	Route    string `json:"route"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Modifier string `json:"modifier"`
	// Upstream is the proxy_pass origin the table sends the route's page
	// to ("http://127.0.0.1:5173"), "" when the route answers itself.
	Upstream string `json:"upstream"`
	// Config state, from the engine.
	Active       bool    `json:"active"`
	InactiveCode *string `json:"inactiveCode"`
	// Runtime health, from the probe.
	Status     Status        `json:"status"`
	URL        string        `json:"url"`
	HTTPStatus int           `json:"httpStatus"` // 0 when nothing answered
	LatencyMs  float64       `json:"latencyMs"`
	Reason     string        `json:"reason"` // "" when ok
	Assets     []AssetReport `json:"assets"`
	HMR        *HMRReport    `json:"hmr"` // nil when the page shows no framework with one
	CheckedAt  time.Time     `json:"checkedAt"`
	// Passive is what real traffic through the proxy showed since the
	// window began; nil in a one-shot scan, which sees no traffic.
	Passive *Passive `json:"passive,omitempty"`
	// Tunnel is the page probed through the tunnel's public URL, when one
	// is known (devproxy.json tunnel.publicUrl); nil otherwise.
	Tunnel *TargetReport `json:"tunnel,omitempty"`
}

// TargetReport is a route's page probed through another way in (the
// tunnel): the page only, classified as the local probe is.
type TargetReport struct {
	URL        string    `json:"url"`
	Status     Status    `json:"status"`
	HTTPStatus int       `json:"httpStatus"`
	LatencyMs  float64   `json:"latencyMs"`
	Reason     string    `json:"reason"`
	CheckedAt  time.Time `json:"checkedAt"`
}

// Passive is a route's health seen from the requests the proxy forwarded
// for it (proxy/monitor), beside the active probes.
type Passive struct {
	Since      time.Time `json:"since"`      // when the window began
	Requests   int       `json:"requests"`   // answered in the window
	Errors     int       `json:"errors"`     // of them 5xx or unanswered
	DialErrors int       `json:"dialErrors"` // of them the upstream could not be reached
	LatencyMs  float64   `json:"latencyMs"`  // moving average of the whole exchange
	LastError  string    `json:"lastError"`  // the newest failure in words; "" when none
	// LastErrorAt is when LastError happened; nil when none.
	LastErrorAt *time.Time `json:"lastErrorAt"`
}

// AssetReport is one same-origin asset the page references.
type AssetReport struct {
	URL         string `json:"url"`
	Kind        string `json:"kind"` // script, style, font, wasm
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	OK          bool   `json:"ok"`
	Reason      string `json:"reason"`
}

// HMRReport is the hot-reload channel's WebSocket upgrade.
type HMRReport struct {
	Framework string `json:"framework"` // vite, next, storybook, socket.io
	URL       string `json:"url"`
	OK        bool   `json:"ok"`
	Reason    string `json:"reason"`
}

// UpstreamReport is the health of one upstream, shared by the routes
// that send their pages to it: the worst of their statuses, with the
// reason said once (a refused upstream is one failure, not one per route).
type UpstreamReport struct {
	Upstream string   `json:"upstream"`
	Status   Status   `json:"status"`
	Reason   string   `json:"reason"`
	Routes   []string `json:"routes"`
}

// ScanReport is one scan of a table: every route, then every upstream.
type ScanReport struct {
	GeneratedAt time.Time        `json:"generatedAt"`
	Base        string           `json:"base"`
	DurationMs  float64          `json:"durationMs"`
	Summary     Summary          `json:"summary"`
	Routes      []Report         `json:"routes"`
	Upstreams   []UpstreamReport `json:"upstreams"`
}

// Summary counts the routes by status.
type Summary struct {
	Total   int `json:"total"`
	OK      int `json:"ok"`
	Warning int `json:"warning"`
	Error   int `json:"error"`
	Unknown int `json:"unknown"`
}

// AllOK reports whether every probed route is ok. Unknown routes
// (inactive blocks) are config state, which `devproxy check` judges.
func (r *ScanReport) AllOK() bool {
	return r.Summary.Warning == 0 && r.Summary.Error == 0
}
