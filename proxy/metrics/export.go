package metrics

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownFormat is returned by Export for a format other than "csv"
// and "json".
var ErrUnknownFormat = errors.New(`unknown export format; use "csv" or "json"`)

// ErrEmptyRange is returned by Export when from is not before to.
var ErrEmptyRange = errors.New("the time range is empty: from must be before to")

// Row is one route's traffic in one time bucket, as exported.
type Row struct {
	Route string
	Point
}

// Rows returns the non-empty time buckets whose start lies in [from, to),
// one row per route and bucket, oldest first and then by route. label ""
// means every route.
func (r *Registry) Rows(from, to time.Time, label string) []Row {
	first, last := r.bucketRange(from, to)
	if first > last {
		return nil
	}
	r.mu.Lock()
	rts := r.selectLocked(label)
	var rows []Row
	for _, rt := range rts {
		for b := first; b <= last; b++ {
			s := r.peekLocked(rt, b)
			if s == nil {
				continue
			}
			row := Row{Route: rt.name, Point: Point{Start: r.startOf(b)}}
			row.add(s)
			if row.Requests == 0 {
				continue
			}
			row.finish()
			rows = append(rows, row)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(rows, func(a, b Row) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Route, b.Route)
	})
	return rows
}

// The export's columns: CSV header names; the JSON form names the same
// fields in camel case (csvColumns[i] ~ jsonRow's tags).
var csvColumns = []string{"start", "route", "requests",
	"status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx", "status_none",
	"bytes", "upstream_ms_mean", "proxy_ms_mean"}

type jsonRow struct {
	Start      string  `json:"start"`
	Route      string  `json:"route"`
	Requests   int64   `json:"requests"`
	Status1xx  int64   `json:"status1xx"`
	Status2xx  int64   `json:"status2xx"`
	Status3xx  int64   `json:"status3xx"`
	Status4xx  int64   `json:"status4xx"`
	Status5xx  int64   `json:"status5xx"`
	StatusNone int64   `json:"statusNone"`
	Bytes      int64   `json:"bytes"`
	UpstreamMs float64 `json:"upstreamMsMean"`
	ProxyMs    float64 `json:"proxyMsMean"`
}

type jsonExport struct {
	From              string    `json:"from"`
	To                string    `json:"to"`
	ResolutionSeconds float64   `json:"resolutionSeconds"`
	Rows              []jsonRow `json:"rows"`
}

// Export writes the rows of [from, to) (Rows) for route ("" for every
// route) to w as "csv" (a header line, then one line per row) or "json"
// (an object {from, to, resolutionSeconds, rows}).
func (r *Registry) Export(w io.Writer, format string, from, to time.Time, route string) error {
	if format != "csv" && format != "json" {
		return fmt.Errorf("export as %q: %w", format, ErrUnknownFormat)
	}
	if !from.Before(to) {
		return ErrEmptyRange
	}
	rows := r.Rows(from, to, route)
	if format == "json" {
		out := jsonExport{
			From: from.UTC().Format(time.RFC3339), To: to.UTC().Format(time.RFC3339),
			ResolutionSeconds: r.res.Seconds(),
			Rows:              make([]jsonRow, len(rows)),
		}
		for i, row := range rows {
			out.Rows[i] = jsonRow{
				Start: row.Start.Format(time.RFC3339), Route: row.Route, Requests: row.Requests,
				Status1xx: row.ByClass[Class1xx], Status2xx: row.ByClass[Class2xx], Status3xx: row.ByClass[Class3xx],
				Status4xx: row.ByClass[Class4xx], Status5xx: row.ByClass[Class5xx], StatusNone: row.ByClass[ClassNone],
				Bytes: row.Bytes, UpstreamMs: round3(row.UpstreamMs), ProxyMs: round3(row.ProxyMs),
			}
		}
		return json.NewEncoder(w).Encode(out)
	}
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	cw.Write(csvColumns)
	rec := make([]string, len(csvColumns))
	for _, row := range rows {
		rec = rec[:0]
		rec = append(rec, row.Start.Format(time.RFC3339), csvCell(row.Route), itoa(row.Requests))
		for _, c := range [...]Class{Class1xx, Class2xx, Class3xx, Class4xx, Class5xx, ClassNone} {
			rec = append(rec, itoa(row.ByClass[c]))
		}
		rec = append(rec, itoa(row.Bytes),
			strconv.FormatFloat(row.UpstreamMs, 'f', 3, 64), strconv.FormatFloat(row.ProxyMs, 'f', 3, 64))
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func round3(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 3, 64), 64)
	return v
}

// csvCell guards a cell a spreadsheet would run as a formula (=, +, -, @,
// a tab or carriage return first: "CSV injection"); route labels come
// from route files, and "@name" is a real location spec. The quote is
// what spreadsheets take as "text", and it shows.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
