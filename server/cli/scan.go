package cli

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// ScanOptions are the flags of `devproxy scan`.
type ScanOptions struct {
	Root        string
	Format      string // text, json or junit
	Concurrency int
	Timeout     time.Duration
	Routes      []string // only these routes (or specs), when not empty
}

// RunScan serves the workspace on 127.0.0.1 (a free port, both
// listeners), scans every active route through it once, prints the
// report and stops the proxy. It exits ExitOK when every probed route is
// ok, ExitFail otherwise (inactive blocks are config state: `devproxy
// check` judges them), ExitUsage when the workspace cannot be served.
func RunScan(ctx context.Context, opts ScanOptions, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan httpproxy.ServeInfo, 1)
	served := make(chan error, 1)
	go func() {
		served <- httpproxy.Serve(ctx, httpproxy.ServeOptions{
			Root: opts.Root, Listen: "127.0.0.1:0", TunnelListen: "127.0.0.1:0",
			Ready: func(i httpproxy.ServeInfo) { ready <- i },
		})
	}()
	var info httpproxy.ServeInfo
	select {
	case info = <-ready:
	case err := <-served:
		fmt.Fprintf(stderr, "devproxy scan: %v\n", err)
		return ExitUsage
	}
	defer func() {
		cancel()
		<-served
	}()
	s, err := health.New("http://"+info.Addr, health.Options{Timeout: opts.Timeout, Concurrency: opts.Concurrency})
	if err != nil {
		fmt.Fprintf(stderr, "devproxy scan: %v\n", err)
		return ExitFail
	}
	defer s.Close()
	rep := s.Scan(ctx, info.Table, opts.Routes...)
	if len(opts.Routes) > 0 && len(rep.Routes) == 0 {
		fmt.Fprintf(stderr, "devproxy scan: no prefix or exact route %s in %s\n", strings.Join(opts.Routes, ", "), info.Table.Root)
		return ExitUsage
	}
	switch opts.Format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	case "junit":
		err = WriteScanJUnit(stdout, rep)
	default:
		WriteScanText(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "devproxy scan: %v\n", err)
		return ExitFail
	}
	if !rep.AllOK() {
		return ExitFail
	}
	return ExitOK
}

// WriteScanText prints one line per route, then the summary:
//
//	error    /api/  apps/api.conf:3  connection refused on 127.0.0.1:5999
func WriteScanText(w io.Writer, rep *health.ScanReport) {
	for _, r := range rep.Routes {
		line := fmt.Sprintf("%-8s %s  %s:%d", r.Status, r.Route, r.File, r.Line)
		if r.HTTPStatus > 0 {
			line += fmt.Sprintf("  %d in %.0fms", r.HTTPStatus, r.LatencyMs)
		}
		if r.Reason != "" {
			line += "  " + r.Reason
		}
		fmt.Fprintln(w, line)
	}
	s := rep.Summary
	fmt.Fprintf(w, "%d routes: %d ok, %d warning, %d error, %d not probed (%.0fms)\n", s.Total, s.OK, s.Warning, s.Error, s.Unknown, rep.DurationMs)
}

// The JUnit XML that CI systems read: one testsuite, one testcase per
// route; a route that is not ok fails with its reason, an unprobed one is
// skipped.
type junitSuite struct {
	XMLName   xml.Name    `xml:"testsuite"`
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitFailure `xml:"skipped,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteScanJUnit writes the scan as JUnit XML.
func WriteScanJUnit(w io.Writer, rep *health.ScanReport) error {
	s := junitSuite{Name: "devproxy scan", Time: secs(rep.DurationMs), Timestamp: rep.GeneratedAt.Format(time.RFC3339)}
	for _, r := range rep.Routes {
		c := junitCase{Name: r.Route, Classname: fmt.Sprintf("%s:%d", r.File, r.Line), Time: secs(r.LatencyMs)}
		switch r.Status {
		case health.StatusOK:
		case health.StatusUnknown:
			c.Skipped = &junitFailure{Message: r.Reason}
			s.Skipped++
		default:
			c.Failure = &junitFailure{Message: r.Reason, Type: string(r.Status), Text: junitDetail(r)}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitDetail(r health.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (upstream %s): HTTP %d in %.0fms\n", r.Status, r.URL, r.Upstream, r.HTTPStatus, r.LatencyMs)
	for _, a := range r.Assets {
		if !a.OK {
			fmt.Fprintf(&b, "asset %s: %s\n", a.URL, a.Reason)
		}
	}
	if r.HMR != nil && !r.HMR.OK {
		fmt.Fprintf(&b, "hot reload %s: %s\n", r.HMR.URL, r.HMR.Reason)
	}
	return b.String()
}

func secs(ms float64) string { return fmt.Sprintf("%.3f", ms/1000) }
