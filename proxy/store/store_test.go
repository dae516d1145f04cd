package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// helperEnv makes the test binary a helper process (TestMain): "hold"
// opens the store in $STORE_DIR and keeps it until stdin closes; "write"
// puts reports as fast as it can, printing the count after each commit.
const helperEnv = "DEVPROXY_STORE_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "hold":
		s, err := Open(os.Getenv("STORE_DIR"), Options{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		s.Close()
		os.Exit(0)
	case "write":
		s, err := Open(os.Getenv("STORE_DIR"), Options{Retention: Retention{Reports: 1 << 30}})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		base := time.Unix(1_800_000_000, 0)
		start, _ := strconv.Atoi(os.Getenv("STORE_START"))
		for i := start; ; i++ {
			// Reports of varied sizes on several routes, so that commits
			// split pages and grow the file while the parent kills us.
			report := []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("x", (i*397)%6000)))
			if err := s.Put(fmt.Sprintf("/r%d/", i%7), base.Add(time.Duration(i)*time.Millisecond), report); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			fmt.Println(i)
		}
	}
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func report(n int) []byte { return []byte(fmt.Sprintf(`{"n":%d}`, n)) }

func TestPutLatestHistory(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for i := range 5 {
		for _, route := range []string{"/api/", "/"} {
			if err := s.Put(route, t0.Add(time.Duration(i)*time.Minute), report(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	latest, err := s.Latest()
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 || string(latest["/api/"]) != `{"n":4}` || string(latest["/"]) != `{"n":4}` {
		t.Errorf("latest = %q", latest)
	}

	h, err := s.History("/api/", t0.Add(2*time.Minute), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h {
		if e.Route != "/api/" {
			t.Errorf("entry of route %q", e.Route)
		}
		got = append(got, e.At.UTC().Format("15:04")+"="+string(e.Report))
	}
	if want := `12:04={"n":4} 12:03={"n":3} 12:02={"n":2}`; strings.Join(got, " ") != want {
		t.Errorf("history since 12:02 = %s, want %s", strings.Join(got, " "), want)
	}
	if h, _ := s.History("/api/", time.Time{}, 2); len(h) != 2 || string(h[0].Report) != `{"n":4}` {
		t.Errorf("history limited to 2 = %v", h)
	}
	if h, err := s.History("/nowhere/", time.Time{}, 0); err != nil || len(h) != 0 {
		t.Errorf("history of an unknown route = %v, %v", h, err)
	}

	// Two reports at the same instant are both kept, in order.
	s.Put("/same/", t0, report(1))
	s.Put("/same/", t0, report(2))
	if h, _ := s.History("/same/", time.Time{}, 0); len(h) != 2 || string(h[0].Report) != `{"n":2}` {
		t.Errorf("two reports at one instant: %v", h)
	}
	// Times before 1970 sort before later ones.
	s.Put("/old/", time.Unix(-10, 0), report(1))
	s.Put("/old/", time.Unix(10, 0), report(2))
	if l, _ := s.Latest(); string(l["/old/"]) != `{"n":2}` {
		t.Errorf("latest across 1970 = %s", l["/old/"])
	}
	if err := s.Put("", t0, report(1)); err == nil {
		t.Error("an empty route was accepted")
	}

	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("store file mode %v, want 0600", info.Mode().Perm())
	}
}

func TestDirectoryMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	open(t, dir)
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, want 0700", info.Mode().Perm())
	}
}

func count(t *testing.T, s *Store, route string) int {
	t.Helper()
	h, err := s.History(route, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(h)
}

func TestRetentionByCount(t *testing.T) {
	s := open(t, t.TempDir())
	for i := range DefaultReports + 1 {
		if err := s.Put("/api/", t0.Add(time.Duration(i)*time.Second), report(i)); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := s.History("/api/", time.Time{}, 0)
	if len(h) != DefaultReports {
		t.Fatalf("%d reports kept, want %d", len(h), DefaultReports)
	}
	if oldest := h[len(h)-1]; string(oldest.Report) != `{"n":1}` {
		t.Errorf("oldest kept is %s, want the second one written ({\"n\":1}): the 51st must drop the first", oldest.Report)
	}

	// A smaller limit applies on the next Put to that route, and to
	// every route on Prune.
	s.Put("/web/", t0, report(0))
	s.Put("/web/", t0.Add(time.Second), report(1))
	s.SetRetention(Retention{Reports: 10})
	if got := s.Retention(); got != (Retention{Reports: 10}) {
		t.Errorf("retention = %+v", got)
	}
	if err := s.Put("/api/", t0.Add(time.Hour), report(99)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "/api/"); n != 10 {
		t.Errorf("after lowering the limit to 10, /api/ keeps %d", n)
	}
	removed, err := s.Prune(t0)
	if err != nil || removed != 0 {
		t.Errorf("prune with nothing to remove: %d, %v", removed, err)
	}
	s.SetRetention(Retention{Reports: 1})
	removed, err = s.Prune(t0)
	if err != nil || removed != 9+1 {
		t.Errorf("prune to 1 per route removed %d, want 10 (9 of /api/, 1 of /web/), err %v", removed, err)
	}
	if l, _ := s.Latest(); string(l["/api/"]) != `{"n":99}` || string(l["/web/"]) != `{"n":1}` {
		t.Errorf("prune kept the wrong reports: %q", l)
	}
	// Zero means the default.
	s.SetRetention(Retention{})
	if got := s.Retention(); got.Reports != DefaultReports || got.Days != 0 {
		t.Errorf("zero retention reads as %+v", got)
	}
}

func TestRetentionByAge(t *testing.T) {
	s := open(t, t.TempDir())
	now := t0
	for d := range 10 { // one report a day, 0 to 9 days old
		s.Put("/api/", now.Add(-time.Duration(d)*24*time.Hour), report(d))
	}
	s.Put("/gone/", now.Add(-30*24*time.Hour), report(30))
	// Put leaves old reports alone: the age limit is Prune's.
	s.SetRetention(Retention{Days: 3})
	s.Put("/api/", now, report(100))
	if n := count(t, s, "/api/"); n != 11 {
		t.Errorf("put removed old reports: %d left, want 11", n)
	}
	removed, err := s.Prune(now)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: 0, 1, 2 and exactly 3 days old, and the new one.
	if removed != 6+1 {
		t.Errorf("prune removed %d, want 7 (6 of /api/ older than 3 days, 1 of /gone/)", removed)
	}
	h, _ := s.History("/api/", time.Time{}, 0)
	if len(h) != 5 {
		t.Errorf("/api/ keeps %d reports, want 5", len(h))
	}
	for _, e := range h {
		if now.Sub(e.At) > 3*24*time.Hour {
			t.Errorf("a report from %s survived", e.At)
		}
	}
	l, _ := s.Latest()
	if _, ok := l["/gone/"]; ok {
		t.Error("a route with no reports left is still listed")
	}
	// Days 0: no age limit.
	s.SetRetention(Retention{})
	s.Put("/old/", now.Add(-1000*24*time.Hour), report(1))
	if removed, _ := s.Prune(now); removed != 0 {
		t.Errorf("with no age limit prune removed %d", removed)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Put("/api/", t0, report(1))
	s.Put("/api/", t0.Add(time.Second), report(2))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	h, err := s.History("/api/", time.Time{}, 0)
	if err != nil || len(h) != 2 || !h[0].At.Equal(t0.Add(time.Second)) || string(h[1].Report) != `{"n":1}` {
		t.Errorf("after reopening: %v, %v", h, err)
	}
}

func TestOpenTwiceInOneProcess(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	start := time.Now()
	s, err := Open(dir, Options{})
	if err == nil {
		s.Close()
		t.Fatal("a second Open of a held store succeeded")
	}
	checkLocked(t, err, dir, time.Since(start))
}

func checkLocked(t *testing.T, err error, dir string, took time.Duration) {
	t.Helper()
	if !errors.Is(err, ErrLocked) {
		t.Errorf("error %v is not ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, filepath.Join(dir, FileName)) || !strings.Contains(msg, "another devproxy holds it") {
		t.Errorf("error %q does not name the file and say another devproxy holds it", msg)
	}
	if took > 3*time.Second {
		t.Errorf("Open took %s to give up; want about 1s", took)
	}
}

func helper(t *testing.T, mode, dir string, env ...string) (*exec.Cmd, *bufio.Scanner, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "STORE_DIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewScanner(stdout), stdin
}

// readLine reads the helper's next line, failing after a bound.
func readLine(t *testing.T, sc *bufio.Scanner) string {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			t.Fatalf("the helper process ended: %v", sc.Err())
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatal("the helper process said nothing for 20s")
	}
	return ""
}

func TestOpenHeldByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd, out, stdin := helper(t, "hold", dir)
	if l := readLine(t, out); l != "ready" {
		t.Fatalf("helper: %s", l)
	}
	start := time.Now()
	s, err := Open(dir, Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of a store another process holds succeeded")
	}
	checkLocked(t, err, dir, time.Since(start))

	// Once the owner goes, the store opens.
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	open(t, dir)
}

// TestSurvivesKill9 kills a process with SIGKILL while it writes, then
// checks the file opens, passes bbolt's consistency check and holds
// every report the process had committed (it prints a report's number
// after its commit), plus at most the one in flight. Three rounds on the
// same file, each writer numbering on from where the last one was killed.
func TestSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	committed := map[int]bool{}
	next := 1
	for round := range 3 {
		cmd, out, _ := helper(t, "write", dir, "STORE_START="+strconv.Itoa(next))
		// Let it commit a few hundred reports, or write for a while.
		last := 0
		deadline := time.Now().Add(3 * time.Second)
		for last < next+300 && time.Now().Before(deadline) {
			l := readLine(t, out)
			n, err := strconv.Atoi(l)
			if err != nil {
				t.Fatalf("helper: %s", l)
			}
			committed[n] = true
			last = n
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// The writer may have run ahead of our reading: what it printed
		// before it died was committed too.
		for out.Scan() {
			if n, err := strconv.Atoi(out.Text()); err == nil {
				committed[n] = true
				last = n
			}
		}
		cmd.Wait()
		if last == 0 {
			t.Fatal("the writer committed nothing")
		}
		next = last + 2 // last+1 may be in the file: it was in flight

		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("round %d: reopening after kill -9: %v", round, err)
		}
		if err := s.db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				t.Errorf("round %d: consistency check: %v", round, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		s.SetRetention(Retention{Reports: 1 << 30})
		stored := map[int]bool{}
		l, _ := s.Latest()
		for route := range l {
			h, err := s.History(route, time.Time{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range h {
				var n int
				if _, err := fmt.Sscanf(string(e.Report), `{"n":%d`, &n); err != nil {
					t.Errorf("round %d: unreadable report %.40q", round, e.Report)
				}
				stored[n] = true
			}
		}
		for n := range committed {
			if !stored[n] {
				t.Errorf("round %d: report %d was committed before the kill but is missing", round, n)
			}
		}
		if extra := len(stored) - len(committed); extra < 0 || extra > round+1 {
			t.Errorf("round %d: %d reports stored, %d committed: more than one in flight per kill", round, len(stored), len(committed))
		}
		t.Logf("round %d: killed after report %d; %d committed in all, %d stored", round, last, len(committed), len(stored))
		s.Close()
	}
}

func TestDefaultDir(t *testing.T) {
	state := t.TempDir()
	t.Setenv("DEVPROXY_STATE_DIR", state)
	ws := filepath.Join(t.TempDir(), "shop")
	dir, err := DefaultDir(ws)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != filepath.Join(state, "data") || !strings.HasSuffix(dir, "-shop") {
		t.Errorf("default dir %s, want %s/data/<hash>-shop", dir, state)
	}
	// Another folder of the same name gets another store; the same
	// folder, named relatively, the same one.
	other, _ := DefaultDir(filepath.Join(t.TempDir(), "shop"))
	if other == dir {
		t.Errorf("two folders named shop share %s", dir)
	}
	wd, _ := os.Getwd()
	t.Chdir(filepath.Dir(ws))
	if again, _ := DefaultDir("shop"); again != dir {
		t.Errorf("relative path gives %s, absolute %s", again, dir)
	}
	t.Chdir(wd)

	// A state directory inside the workspace is refused.
	t.Setenv("DEVPROXY_STATE_DIR", filepath.Join(ws, ".state"))
	if _, err := DefaultDir(ws); err == nil || !strings.Contains(err.Error(), "inside the workspace") {
		t.Errorf("state directory inside the workspace: %v", err)
	}
	t.Setenv("DEVPROXY_STATE_DIR", "")
	t.Setenv("XDG_STATE_HOME", filepath.Join(state, "xdg"))
	if dir, _ := DefaultDir(ws); !strings.HasPrefix(dir, filepath.Join(state, "xdg", "devproxy", "data")+string(filepath.Separator)) {
		t.Errorf("with XDG_STATE_HOME: %s", dir)
	}
}

func TestRefusesDataDirInsideWorkspace(t *testing.T) {
	ws := t.TempDir()
	outside := t.TempDir()
	link := filepath.Join(outside, "link")
	if err := os.Symlink(ws, link); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{ws, filepath.Join(ws, ".devproxy", "data"), filepath.Join(link, "data")} {
		s, err := Open(dir, Options{Workspace: ws})
		if err == nil {
			s.Close()
			t.Errorf("Open accepted %s inside the workspace %s", dir, ws)
			continue
		}
		if !strings.Contains(err.Error(), "inside the workspace") || !strings.Contains(err.Error(), "dataDir") {
			t.Errorf("%s: error %q does not say why or what to change", dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, ".devproxy")); err == nil {
		t.Error("a refused Open created its directory")
	}
	// Beside the workspace (a name that shares its prefix) is fine.
	s, err := Open(ws+"-data", Options{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.RemoveAll(ws + "-data")
}

// BenchmarkPut stores reports of about 1 KB on 100 routes, each Put one
// committed (fsynced) transaction that also applies the count limit.
func BenchmarkPut(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rep := []byte(`{"status":"ok","pad":"` + strings.Repeat("x", 1000) + `"}`)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.Put(fmt.Sprintf("/r%d/", i%100), t0.Add(time.Duration(i)*time.Millisecond), rep); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLatest reads the newest report of 100 routes that have 50
// reports each.
func BenchmarkLatest(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rep := []byte(`{"status":"ok","pad":"` + strings.Repeat("x", 1000) + `"}`)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for r := range 100 {
			bk, err := tx.Bucket(reportsBucket).CreateBucket([]byte(fmt.Sprintf("/r%d/", r)))
			if err != nil {
				return err
			}
			for i := range 50 {
				if err := bk.Put(timeKey(t0.Add(time.Duration(i)*time.Second)), rep); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		l, err := s.Latest()
		if err != nil || len(l) != 100 {
			b.Fatal(len(l), err)
		}
	}
}
