package heal

import (
	"context"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func openRecords(t *testing.T, path string) *Records {
	t.Helper()
	r, err := OpenRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func statsOf(t *testing.T, r *Records, id string) PatternStats {
	t.Helper()
	for _, s := range r.Stats() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no stats for %s in %+v", id, r.Stats())
	return PatternStats{}
}

func TestConfidenceHasBetaPrior(t *testing.T) {
	for _, c := range []struct {
		s, n int
		want float64
	}{{0, 0, 0.5}, {1, 1, 2.0 / 3}, {0, 1, 1.0 / 3}, {3, 4, 4.0 / 6}, {1, 4, 2.0 / 6}} {
		if got := Confidence(c.s, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Confidence(%d, %d) = %v, want %v", c.s, c.n, got, c.want)
		}
	}
}

func TestRecordsPersistAndDisableAfterFourPoorAttempts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heal.db")
	r := openRecords(t, path)
	// 1 success in 3: (1+1)/(3+2) = 0.4, but fewer than 4 attempts.
	for _, ok := range []bool{true, false, false} {
		if err := r.Record(HMRRefused, "/app/", ok); err != nil {
			t.Fatal(err)
		}
	}
	if s := statsOf(t, r, HMRRefused); s.Attempts != 3 || s.Successes != 1 || s.Disabled || math.Abs(s.Confidence-0.4) > 1e-12 || s.Source != Builtin {
		t.Fatalf("after 3: %+v", s)
	}
	// The fourth failure: (1+1)/(4+2) = 0.33 < 0.5 after 4 attempts.
	r.Record(HMRRefused, "/other/", false)
	if s := statsOf(t, r, HMRRefused); !s.Disabled || s.Attempts != 4 {
		t.Fatalf("after 4: %+v", s)
	}
	// Another pattern doing well is untouched: (3+1)/(4+2) = 0.67.
	for i := 0; i < 4; i++ {
		r.Record(SlashPitfall, "/api/", i != 0)
	}
	if s := statsOf(t, r, SlashPitfall); s.Disabled || math.Abs(s.Confidence-4.0/6) > 1e-12 {
		t.Fatalf("slash pitfall: %+v", s)
	}
	// The record survives a reopen.
	r.Close()
	r2 := openRecords(t, path)
	if s := statsOf(t, r2, HMRRefused); !s.Disabled || s.Attempts != 4 || s.Successes != 1 {
		t.Fatalf("after reopen: %+v", s)
	}
	as, err := r2.Attempts()
	if err != nil || len(as) != 8 || as[0].Pattern != HMRRefused || as[0].Route != "/app/" || !as[0].Success || as[0].At.IsZero() {
		t.Fatalf("attempts %v %+v", err, as)
	}
	// Re-enabled, it is judged on what follows.
	if err := r2.Enable(HMRRefused); err != nil {
		t.Fatal(err)
	}
	if r2.Disabled(HMRRefused) {
		t.Fatal("still disabled after Enable")
	}
	r2.Record(HMRRefused, "/app/", false)
	if r2.Disabled(HMRRefused) {
		t.Fatal("disabled again after one attempt")
	}
	for i := 0; i < 3; i++ {
		r2.Record(HMRRefused, "/app/", false)
	}
	if !r2.Disabled(HMRRefused) {
		t.Fatal("four failures after Enable should disable it again")
	}
}

// A disabled pattern is neither detected nor offered; Propose records
// the verifications it runs.
func TestDisabledPatternNotDetectedNorOffered(t *testing.T) {
	up := upstream(t, viteUnderPrefix("/app/"))
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + up + ";\n}\n"})
	r := openRecords(t, filepath.Join(t.TempDir(), "heal.db"))
	in := w.inputs(t)
	in.Records = r
	f := only(t, Detect(context.Background(), in), HMRRefused)
	env := w.env()
	env.Records = r
	fix, err := Propose(context.Background(), f, env)
	if err != nil || !fix.Verified {
		t.Fatalf("%v %+v", err, fix)
	}
	if s := statsOf(t, r, HMRRefused); s.Attempts != 1 || s.Successes != 1 {
		t.Fatalf("the verification was not recorded: %+v", s)
	}
	for i := 0; i < 5; i++ {
		r.Record(HMRRefused, "/app/", false)
	}
	none(t, Detect(context.Background(), in), HMRRefused)
	if _, err := Propose(context.Background(), f, env); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("Propose of a disabled pattern: %v", err)
	}
	r.Enable(HMRRefused)
	only(t, Detect(context.Background(), in), HMRRefused)
}

func TestStatsListsUserPatterns(t *testing.T) {
	r := openRecords(t, filepath.Join(t.TempDir(), "heal.db"))
	r.SetUserPatterns([]UserPattern{{ID: "nextauth-url", Title: "NextAuth URL", File: ".devproxy/patterns/nextauth.json"}})
	r.Record("nextauth-url", "/app/", true)
	st := r.Stats()
	if len(st) != len(Builtins())+1 {
		t.Fatalf("stats %+v", st)
	}
	last := st[len(st)-1]
	if last.ID != "nextauth-url" || last.Source != ".devproxy/patterns/nextauth.json" || last.Attempts != 1 || math.Abs(last.Confidence-2.0/3) > 1e-12 {
		t.Errorf("user pattern stats %+v", last)
	}
	if st[0].ID != AssetsUnderPrefix || st[0].Confidence != 0.5 || st[0].Title == "" {
		t.Errorf("first builtin %+v", st[0])
	}
}

// One proposal is one attempt, however many candidates it verified.
func TestOneAttemptPerProposal(t *testing.T) {
	down := refusedAddr(t)
	broken := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }
	a, b := upstream(t, http.HandlerFunc(broken)), upstream(t, http.HandlerFunc(broken))
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + down + ";\n}\n"})
	f := only(t, Detect(context.Background(), w.inputs(t)), UpstreamUnreachable)
	env := w.env()
	env.Records = openRecords(t, filepath.Join(t.TempDir(), "heal.db"))
	env.CandidatePorts = []int{portOf(t, a), portOf(t, b)}
	fix, err := Propose(context.Background(), f, env)
	if err != nil || fix.Edit != nil {
		t.Fatalf("%v %+v", err, fix)
	}
	if s := statsOf(t, env.Records, UpstreamUnreachable); s.Attempts != 1 || s.Successes != 0 {
		t.Errorf("stats %+v", s)
	}
}
