package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// imageRoleEnv makes the test binary, re-executed inside the test's
// namespaces, play a part there: "upstream ADDR READYFILE" (an HTTP server
// that answers with the path it was asked for, until SIGTERM) or
// "get URL OUTFILE" (one bounded request, its status and body written to
// OUTFILE as JSON).
const imageRoleEnv = "DEVPROXY_IMAGE_TEST_ROLE"

// dockerPath is the PATH Docker gives a container whose image sets none.
const dockerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// TestImageRunsAsBuilt builds the image as the Dockerfile says and runs it
// as a container runtime would, without Docker (no engine runs here).
//
// Build: the stage that the final stage copies /rootfs from is played with
// the local Go toolchain: its RUN lines after `COPY . .` run with sh -c in
// the repository (the build's WORKDIR holds a copy of it), with the ARG
// defaults in the environment (VERSION=test), Docker's umask (022) and
// GOFLAGS/GOCACHE inherited. The one substitution in the Dockerfile's text:
// /rootfs is a temporary directory. `go mod download`
// comes before `COPY . .` and is not run (the module cache has the
// modules). The final stage is `scratch` plus that directory, so the
// directory is the image: it is checked file by file (a static binary,
// nothing else executable, no shell, the users, /tmp, the CA bundle).
//
// Run: in new mount, network and pid namespaces (unshare), a script on the
// host side brings up lo, mounts the route files read-only at /routes, and
// starts the ENTRYPOINT chrooted into the image as the USER, with `env -i`
// and the image's ENV plus PATH and HOME as Docker sets them. It polls the
// HEALTHCHECK CMD the same way until it passes, asks for a route through
// 127.0.0.1:8080 (an upstream in the namespace answers) and for
// /devproxy/healthz, reads the process's uid, gid, groups and capabilities
// from /proc, and stops it with SIGTERM (docker stop). Twice, each on a
// fresh copy of the image: writable (`docker run`), and as the Helm chart
// runs it (readOnlyRootFilesystem, an emptyDir at /tmp; the chart's
// values and Deployment are checked to still say so).
func TestImageRunsAsBuilt(t *testing.T) {
	if role := os.Getenv(imageRoleEnv); role != "" {
		imageHelper(t, role)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: unshare, mount and chroot")
	}
	tools := map[string]string{}
	for _, tool := range []string{"unshare", "ip", "mount", "chroot", "env", "timeout", "cp"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s here: %v", tool, err)
		}
		tools[tool] = p
	}
	if out, err := exec.Command(tools["unshare"], "--mount", "--net", "--pid", "--fork", "true").CombinedOutput(); err != nil {
		if strings.Contains(string(out), "Operation not permitted") {
			t.Skipf("new namespaces are refused here: %s", bytes.TrimSpace(out))
		}
		t.Fatalf("unshare: %v: %s", err, out)
	}

	df := readDockerfile(t)
	final := df.final()
	if final.from != "scratch" {
		t.Fatalf("the final stage is FROM %s, not scratch: the image is not the Dockerfile's alone", final.from)
	}
	copies := final.copies()
	if len(copies) != 1 || copies[0].from == "" || len(copies[0].srcs) != 1 || copies[0].srcs[0] != "/rootfs/" || copies[0].dst != "/" {
		t.Fatalf("the final stage is not `COPY --from=STAGE /rootfs/ /` alone: %+v", copies)
	}
	build := df.stage(copies[0].from)
	if build == nil {
		t.Fatalf("no stage %q", copies[0].from)
	}

	start := time.Now()
	rootfs := buildImage(t, build)
	t.Logf("built the image's file system in %v", time.Since(start).Round(time.Millisecond))
	uid, gid, home := checkImageFiles(t, rootfs, final.user())
	if t.Failed() {
		t.Log("the image is not as the Dockerfile says; running it anyway")
	}

	env, err := final.env()
	if err != nil {
		t.Fatal(err)
	}
	entry, err := final.entrypoint()
	if err != nil {
		t.Fatal(err)
	}
	health, err := final.healthcheck()
	if err != nil {
		t.Fatal(err)
	}
	if ports := final.expose(); len(ports) != 1 || ports[0] != "8080" {
		t.Errorf("EXPOSE %v, want 8080 (the test reaches the proxy there)", ports)
	}
	// Docker's environment: PATH unless the image sets one, HOME from the
	// image's /etc/passwd, then the image's ENV.
	containerEnv := []string{"PATH=" + dockerPath, "HOME=" + home}
	for k, v := range env {
		containerEnv = append(containerEnv, k+"="+v)
	}
	img := image{
		rootfs: rootfs, tools: tools, env: containerEnv,
		userspec: strconv.Itoa(uid) + ":" + strconv.Itoa(gid),
		entry:    entry, health: health,
	}
	for _, mode := range []struct {
		name     string
		readOnly bool
	}{
		{"docker run", false},
		{"helm chart: read-only root, emptyDir at /tmp", true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			if mode.readOnly {
				checkChartRunsSo(t, uid, gid)
			}
			img.run(t, mode.readOnly, uid, gid)
		})
	}
}

// checkChartRunsSo checks that the Helm chart still runs the image as the
// read-only run does: as the USER, with a read-only root and an emptyDir
// at /tmp.
func checkChartRunsSo(t *testing.T, uid, gid int) {
	chart := filepath.Join(repoRoot(), "deploy", "helm", "devproxy")
	values, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	deployment, err := os.ReadFile(filepath.Join(chart, "templates", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		text []byte
		re   string
	}{
		{values, `(?m)^\s+readOnlyRootFilesystem: true$`},
		{values, `(?m)^\s+runAsUser: ` + strconv.Itoa(uid) + `$`},
		{values, `(?m)^\s+runAsGroup: ` + strconv.Itoa(gid) + `$`},
		{deployment, `(?m)^\s+- name: tmp\n\s+mountPath: /tmp$`},
		{deployment, `(?m)^\s+- name: tmp\n\s+emptyDir: \{\}$`},
	} {
		if !regexp.MustCompile(want.re).Match(want.text) {
			t.Errorf("the chart no longer says %s: this run does not stand for it", want.re)
		}
	}
}

// buildImage runs the build stage's RUN lines after `COPY . .` and returns
// the directory that stands for its /rootfs.
func buildImage(t *testing.T, build *dockerStage) string {
	runs := build.runs("COPY . .")
	if len(runs) == 0 {
		t.Fatal("the build stage has no RUN after COPY . .")
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	repo, err := filepath.Abs(repoRoot())
	if err != nil {
		t.Fatal(err)
	}
	env := os.Environ() // GOFLAGS, GOCACHE, GOMODCACHE: the local build's
	for k, v := range build.args() {
		if k == "VERSION" {
			v = "test"
		}
		env = append(env, k+"="+v)
	}
	substituted := false
	for _, run := range runs {
		script := strings.ReplaceAll(run, "/rootfs", rootfs)
		substituted = substituted || script != run
		// Docker's RUN has umask 022; the directories' modes depend on it.
		cmd := exec.Command("sh", "-c", "umask 022\n"+script)
		cmd.Dir, cmd.Env = repo, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("RUN %s: %v\n%s", run, err, out)
		}
	}
	if !substituted {
		t.Fatal("no RUN after COPY . . writes /rootfs")
	}
	return rootfs
}

// checkImageFiles checks the image's files, which are all there is in it,
// and returns the USER's uid, gid and home (from the image's /etc/passwd).
func checkImageFiles(t *testing.T, rootfs, user string) (uid, gid int, home string) {
	t.Helper()
	type entry struct {
		mode     fs.FileMode
		uid, gid int
	}
	files := map[string]entry{}
	err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, rootfs), "/")
		files[rel] = entry{fi.Mode(), int(st.Uid), int(st.Gid)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The user: numeric, in /etc/passwd and /etc/group, with its home.
	u, g, hasGroup := strings.Cut(user, ":")
	uid, err = strconv.Atoi(u)
	if err != nil || uid == 0 {
		t.Fatalf("USER %q is not a numeric non-root user", user)
	}
	passwd, _ := os.ReadFile(filepath.Join(rootfs, "etc", "passwd"))
	group, _ := os.ReadFile(filepath.Join(rootfs, "etc", "group"))
	var shell string
	for _, line := range strings.Split(string(passwd), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[2] == u {
			gid, _ = strconv.Atoi(f[3])
			home, shell = f[5], f[6]
		}
	}
	if home == "" {
		t.Fatalf("USER %s is not in the image's /etc/passwd:\n%s", u, passwd)
	}
	if hasGroup {
		if gid, err = strconv.Atoi(g); err != nil {
			t.Fatalf("USER %q: the group is not numeric", user)
		}
	}
	if !regexp.MustCompile(`(?m)^root:x:0:0:`).Match(passwd) {
		t.Errorf("no root in /etc/passwd:\n%s", passwd)
	}
	if !regexp.MustCompile(`(?m)^[a-z]+:x:` + strconv.Itoa(gid) + `:`).Match(group) {
		t.Errorf("the group %d is not in /etc/group:\n%s", gid, group)
	}
	if shell != "/sbin/nologin" {
		t.Errorf("USER %d's shell is %q, want /sbin/nologin (there is no shell)", uid, shell)
	}

	// Exactly these files, no more: no shell, no base image.
	want := map[string]entry{
		"/":                                  {fs.ModeDir | 0o755, 0, 0},
		"/devproxy":                          {0o755, 0, 0},
		"/etc":                               {fs.ModeDir | 0o755, 0, 0},
		"/etc/passwd":                        {0o644, 0, 0},
		"/etc/group":                         {0o644, 0, 0},
		"/etc/ssl":                           {fs.ModeDir | 0o755, 0, 0},
		"/etc/ssl/certs":                     {fs.ModeDir | 0o755, 0, 0},
		"/etc/ssl/certs/ca-certificates.crt": {0o644, 0, 0},
		"/home":                              {fs.ModeDir | 0o755, 0, 0},
		home:                                 {fs.ModeDir | 0o755, uid, gid},
		"/routes":                            {fs.ModeDir | 0o755, 0, 0},
		"/tmp":                               {fs.ModeDir | fs.ModeSticky | 0o777, 0, 0},
	}
	for _, sh := range []string{"/bin/sh", "/bin/bash", "/bin/dash", "/bin/ash", "/bin/busybox", "/usr/bin/sh", shell} {
		if _, ok := files[sh]; ok {
			t.Errorf("the image has a shell: %s", sh)
		}
	}
	for p, e := range files {
		w, ok := want[p]
		switch {
		case !ok:
			t.Errorf("the image has %s (%v), which the Dockerfile does not put there", p, e.mode)
		case e != w:
			t.Errorf("%s is %v %d:%d, want %v %d:%d", p, e.mode, e.uid, e.gid, w.mode, w.uid, w.gid)
		}
	}
	for p := range want {
		if _, ok := files[p]; !ok {
			t.Errorf("the image has no %s", p)
		}
	}

	// The binary: static (no interpreter, no shared libraries), as built.
	bin := filepath.Join(rootfs, "devproxy")
	if f, err := elf.Open(bin); err != nil {
		t.Errorf("/devproxy: %v", err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("/devproxy is dynamically linked: it has an interpreter (PT_INTERP), which the image does not have")
			}
		}
		if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
			t.Errorf("/devproxy needs shared libraries (DT_NEEDED): %v %v", libs, err)
		}
		f.Close()
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || string(out) != "devproxy test\n" {
		t.Errorf("/devproxy version: %q %v, want the ARG VERSION (test)", out, err)
	}

	// The CA bundle, for HTTPS upstreams.
	pem, _ := os.ReadFile(filepath.Join(rootfs, "etc", "ssl", "certs", "ca-certificates.crt"))
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		t.Error("/etc/ssl/certs/ca-certificates.crt holds no certificates")
	}
	return uid, gid, home
}

// image is the built image and how to run it.
type image struct {
	rootfs   string
	tools    map[string]string
	env      []string // the container's environment
	userspec string   // uid:gid
	entry    []string
	health   *dockerHealthcheck
}

// The port of the upstream inside the namespace (its own network: free).
const imageUpstream = "127.0.0.1:9099"

// run runs the image once in new namespaces and checks it served.
func (img image) run(t *testing.T, readOnly bool, uid, gid int) {
	work := t.TempDir()
	// A container of its own: a copy of the image, as a fresh layer would
	// be (what one run writes is not there for the next).
	rootfs := filepath.Join(work, "rootfs")
	if out, err := exec.Command(img.tools["cp"], "-a", img.rootfs, rootfs).CombinedOutput(); err != nil {
		t.Fatalf("copying the image: %v\n%s", err, out)
	}
	routes := filepath.Join(work, "routes")
	writeFile(t, routes, "apps/echo.conf", "location /echo/ { proxy_pass http://"+imageUpstream+"; }\n")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	q := shellQuote
	// chroot'd as the USER, with nothing of the test's environment.
	inImage := func(argv []string) string {
		words := []string{q(img.tools["env"]), "-i"}
		for _, kv := range img.env {
			words = append(words, q(kv))
		}
		words = append(words, q(img.tools["chroot"]), q("--userspec="+img.userspec), "\"$R\"")
		for _, a := range argv {
			words = append(words, q(a))
		}
		return strings.Join(words, " ")
	}
	helper := func(role string) string {
		return imageRoleEnv + "=" + q(role) + " " + q(self) + " -test.run='^TestImageRunsAsBuilt$'"
	}
	checkTimeout := img.health.options["timeout"]
	if checkTimeout == "" {
		checkTimeout = "30s" // Docker's default
	}
	var s strings.Builder
	fmt.Fprintf(&s, "set -eu\nR=%s\nW=%s\nPATH=%s\n", q(rootfs), q(work), q(os.Getenv("PATH")))
	s.WriteString(`fail() { echo "$*" >&2; exit 1; }
ip link set lo up
# The image's root as a mount of its own, the route files read-only on it.
mount --bind "$R" "$R"
mount --bind "$W/routes" "$R/routes"
mount -o remount,bind,ro "$R/routes"
`)
	if readOnly {
		// The chart: readOnlyRootFilesystem, and an emptyDir (a directory
		// the kubelet makes 0777) at /tmp.
		s.WriteString(`mount -t tmpfs -o mode=0777,nosuid,nodev,size=64m tmpfs "$R/tmp"
mount -o remount,bind,ro "$R"
touch "$R/.rw-probe" 2>/dev/null && fail "the root is writable"
`)
	}
	fmt.Fprintf(&s, `%s >"$W/upstream.log" 2>&1 &
up=$!
n=0
until [ -e "$W/upstream.ready" ]; do
	n=$((n+1)); [ $n -le 100 ] || fail "the upstream did not start"; sleep 0.1
done
# The ENTRYPOINT.
%s >"$W/serve.log" 2>&1 &
pid=$!
# The HEALTHCHECK CMD, as Docker runs it (in the container, as the USER,
# killed after --timeout), every 0.2s until it passes, for 20s at most.
end=$(($(date +%%s) + 20))
n=0
until timeout %s %s >"$W/health.out" 2>&1; do
	if ! kill -0 $pid 2>/dev/null; then
		rc=0; wait $pid || rc=$?; fail "the ENTRYPOINT exited with status $rc"
	fi
	[ $(date +%%s) -lt $end ] || fail "the HEALTHCHECK did not pass in 20s"
	n=$((n+1)); sleep 0.2
done
echo $n >"$W/health.tries"
cat /proc/$pid/status >"$W/status"
readlink /proc/$pid/root >"$W/root"
%s
%s
kill -TERM $pid
rc=0; wait $pid || rc=$?
echo $rc >"$W/stopped"
kill -TERM $up; wait $up || true
`, helper("upstream "+imageUpstream+" "+filepath.Join(work, "upstream.ready")),
		inImage(img.entry),
		q(checkTimeout), inImage(img.health.cmd),
		helper("get http://127.0.0.1:8080/echo/hello "+filepath.Join(work, "echo.json")),
		helper("get http://127.0.0.1:8080"+httpproxy.HealthzPath+" "+filepath.Join(work, "healthz.json")))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, img.tools["unshare"], "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c", s.String())
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(work, name))
		return strings.TrimSpace(string(b))
	}
	t.Logf("ran in %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("the run failed: %v\n%s\nthe HEALTHCHECK's last output: %s\nthe ENTRYPOINT's output:\n%s\nthe upstream's:\n%s",
			err, out.String(), read("health.out"), lastLines(read("serve.log"), 20), read("upstream.log"))
	}
	t.Logf("the HEALTHCHECK passed after %s failed tries", read("health.tries"))
	defer func() {
		if t.Failed() {
			t.Logf("the ENTRYPOINT's output:\n%s", lastLines(read("serve.log"), 20))
		}
	}()

	var echo, healthz imageGet
	json.Unmarshal([]byte(read("echo.json")), &echo)
	json.Unmarshal([]byte(read("healthz.json")), &healthz)
	if echo.Status != http.StatusOK || echo.Body != "upstream saw /echo/hello" {
		t.Errorf("GET /echo/hello through the proxy: %+v, want the upstream's 200", echo)
	}
	if healthz.Status != http.StatusOK || !strings.Contains(healthz.Body, `"ok"`) {
		t.Errorf("GET %s: %+v, want 200 ok", httpproxy.HealthzPath, healthz)
	}
	status := read("status")
	for _, want := range []string{
		fmt.Sprintf("Uid:\t%d\t%d\t%d\t%d", uid, uid, uid, uid),
		fmt.Sprintf("Gid:\t%d\t%d\t%d\t%d", gid, gid, gid, gid),
		"CapEff:\t0000000000000000",
	} {
		if !strings.Contains(status, want) {
			t.Errorf("the ENTRYPOINT's process is not %q:\n%s", want, status)
		}
	}
	if groups := regexp.MustCompile(`(?m)^Groups:(.*)$`).FindStringSubmatch(status); groups == nil || slices.Contains(strings.Fields(groups[1]), "0") {
		t.Errorf("the ENTRYPOINT's process has root's group: %q", groups)
	}
	if root := read("root"); root != rootfs {
		t.Errorf("the ENTRYPOINT's root is %q, not the image", root)
	}
	if rc := read("stopped"); rc != "0" {
		t.Errorf("on SIGTERM the ENTRYPOINT exited %s, want 0", rc)
	}
	uidLine, _, _ := strings.Cut(status[strings.Index(status, "Uid:"):], "\n")
	t.Logf("GET /echo/hello: %d %q; GET %s: %d %q; the ENTRYPOINT's %s",
		echo.Status, echo.Body, httpproxy.HealthzPath, healthz.Status, healthz.Body, uidLine)
}

// imageGet is a "get" helper's result.
type imageGet struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Err    string `json:"err,omitempty"`
}

// imageHelper plays a role inside the namespaces (imageRoleEnv).
func imageHelper(t *testing.T, role string) {
	f := strings.Fields(role)
	switch {
	case len(f) == 3 && f[0] == "upstream":
		ln, err := net.Listen("tcp", f[1])
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "upstream saw "+r.URL.Path)
		})}
		go srv.Serve(ln)
		if err := os.WriteFile(f[2], nil, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		select {
		case <-ctx.Done():
		case <-time.After(time.Minute):
		}
		srv.Close()
	case len(f) == 3 && f[0] == "get":
		var res imageGet
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get(f[1])
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			res.Status, res.Body = resp.StatusCode, string(b)
		} else {
			res.Err = err.Error()
		}
		b, _ := json.Marshal(res)
		if err := os.WriteFile(f[2], b, 0o644); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal(errors.New(imageRoleEnv + ": " + role))
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return fmt.Sprintf("[%d lines]\n", len(lines)-n) + strings.Join(lines[len(lines)-n:], "\n")
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
