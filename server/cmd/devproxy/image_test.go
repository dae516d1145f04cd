package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A Dockerfile as the tests read it: the instructions that define the
// image, stage by stage. It is a reader for this repository's Dockerfile,
// not for every Dockerfile: no parser directives, no heredocs, no escape
// character but `\`, and ARG/ENV values are taken literally (no ${...}
// expansion outside RUN, where the shell does it).
type dockerfile struct {
	args   map[string]string // ARGs before the first FROM, with their defaults
	stages []*dockerStage
}

type dockerStage struct {
	from, name string
	line       int // of the FROM
	instrs     []dockerInstr
}

// dockerInstr is one instruction: its keyword in upper case and the rest of
// its (joined) line.
type dockerInstr struct {
	cmd, rest string
	line      int
}

// dockerCopy is a COPY: its --from, if any, and its sources and destination.
type dockerCopy struct {
	from string
	srcs []string
	dst  string
}

// dockerHealthcheck is a HEALTHCHECK in exec form: its options
// (--interval=10s...) and CMD.
type dockerHealthcheck struct {
	options map[string]string
	cmd     []string
}

func repoRoot() string { return filepath.Join("..", "..", "..") }

// readDockerfile reads the repository's Dockerfile.
func readDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df, err := parseDockerfile(string(b))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return df
}

// parseDockerfile splits the text into instructions, joining the lines
// that end in `\` with the next (comments and empty lines within are
// dropped, as Docker does), and groups them by FROM.
func parseDockerfile(text string) (*dockerfile, error) {
	df := &dockerfile{args: map[string]string{}}
	var cur strings.Builder
	start := 0
	lines := strings.Split(text, "\n")
	for i, raw := range lines {
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`))
			if i == len(lines)-1 {
				return nil, fmt.Errorf("line %d: a continuation at the end of the file", start)
			}
			continue
		}
		cur.WriteString(line)
		joined := strings.TrimSpace(cur.String())
		cur.Reset()
		cmd, rest, _ := strings.Cut(joined, " ")
		in := dockerInstr{cmd: strings.ToUpper(cmd), rest: strings.TrimSpace(rest), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.rest)
			if len(f) != 1 && !(len(f) == 3 && strings.EqualFold(f[1], "AS")) {
				return nil, fmt.Errorf("line %d: FROM %s", start, in.rest)
			}
			st := &dockerStage{from: f[0], line: start}
			if len(f) == 3 {
				st.name = f[2]
			}
			df.stages = append(df.stages, st)
			continue
		}
		if len(df.stages) == 0 {
			if in.cmd != "ARG" {
				return nil, fmt.Errorf("line %d: %s before the first FROM", start, in.cmd)
			}
			name, def, _ := strings.Cut(in.rest, "=")
			df.args[name] = def
			continue
		}
		st := df.stages[len(df.stages)-1]
		st.instrs = append(st.instrs, in)
	}
	if len(df.stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return df, nil
}

// stage is the stage named name (FROM ... AS name).
func (df *dockerfile) stage(name string) *dockerStage {
	for _, st := range df.stages {
		if st.name == name {
			return st
		}
	}
	return nil
}

// final is the last stage: the image.
func (df *dockerfile) final() *dockerStage { return df.stages[len(df.stages)-1] }

// all is the stage's instructions with the keyword cmd.
func (st *dockerStage) all(cmd string) []dockerInstr {
	var out []dockerInstr
	for _, in := range st.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// last is the rest of the stage's last cmd instruction (the one that
// counts for USER, HEALTHCHECK, ENTRYPOINT), "" if there is none.
func (st *dockerStage) last(cmd string) string {
	all := st.all(cmd)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1].rest
}

// runs is the stage's RUN commands (shell form), in order; with after
// set (an instruction: "COPY . ."), only those that come after it.
func (st *dockerStage) runs(after string) []string {
	var out []string
	seen := after == ""
	for _, in := range st.instrs {
		switch {
		case !seen && in.cmd+" "+in.rest == after:
			seen = true
		case in.cmd == "RUN" && seen:
			out = append(out, in.rest)
		}
	}
	return out
}

// args is the stage's ARGs with their defaults ("" for none).
func (st *dockerStage) args() map[string]string {
	out := map[string]string{}
	for _, in := range st.all("ARG") {
		name, def, _ := strings.Cut(in.rest, "=")
		out[name] = unquoteDocker(def)
	}
	return out
}

// env is the stage's ENV, in either form (K=V... or K V).
func (st *dockerStage) env() (map[string]string, error) {
	out := map[string]string{}
	for _, in := range st.all("ENV") {
		if !strings.Contains(strings.Fields(in.rest)[0], "=") {
			k, v, _ := strings.Cut(in.rest, " ")
			out[k] = strings.TrimSpace(v)
			continue
		}
		for _, kv := range splitQuoted(in.rest) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: ENV %s", in.line, in.rest)
			}
			out[k] = unquoteDocker(v)
		}
	}
	return out, nil
}

// copies is the stage's COPY instructions.
func (st *dockerStage) copies() []dockerCopy {
	var out []dockerCopy
	for _, in := range st.all("COPY") {
		var c dockerCopy
		f := strings.Fields(in.rest)
		for len(f) > 0 && strings.HasPrefix(f[0], "--") {
			if v, ok := strings.CutPrefix(f[0], "--from="); ok {
				c.from = v
			}
			f = f[1:]
		}
		if len(f) >= 2 {
			c.srcs, c.dst = f[:len(f)-1], f[len(f)-1]
		}
		out = append(out, c)
	}
	return out
}

// user is the stage's USER.
func (st *dockerStage) user() string { return st.last("USER") }

// expose is the stage's EXPOSEd ports.
func (st *dockerStage) expose() []string {
	var out []string
	for _, in := range st.all("EXPOSE") {
		out = append(out, strings.Fields(in.rest)...)
	}
	return out
}

// entrypoint is the stage's ENTRYPOINT, which must be in exec form.
func (st *dockerStage) entrypoint() ([]string, error) {
	return execForm("ENTRYPOINT", st.last("ENTRYPOINT"))
}

// healthcheck is the stage's HEALTHCHECK, whose CMD must be in exec form.
func (st *dockerStage) healthcheck() (*dockerHealthcheck, error) {
	rest := st.last("HEALTHCHECK")
	h := &dockerHealthcheck{options: map[string]string{}}
	for strings.HasPrefix(rest, "--") {
		opt, more, _ := strings.Cut(rest, " ")
		k, v, _ := strings.Cut(strings.TrimPrefix(opt, "--"), "=")
		h.options[k] = v
		rest = strings.TrimSpace(more)
	}
	cmd, ok := strings.CutPrefix(rest, "CMD ")
	if !ok {
		return nil, fmt.Errorf("HEALTHCHECK without CMD: %q", st.last("HEALTHCHECK"))
	}
	var err error
	h.cmd, err = execForm("HEALTHCHECK CMD", strings.TrimSpace(cmd))
	return h, err
}

// execForm decodes an instruction's exec form, a JSON array of strings.
func execForm(what, rest string) ([]string, error) {
	var argv []string
	if err := json.Unmarshal([]byte(rest), &argv); err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("%s is not in exec form (a JSON array): %q", what, rest)
	}
	return argv, nil
}

// splitQuoted splits s at blanks outside double quotes (which it keeps).
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case (r == ' ' || r == '\t') && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// unquoteDocker removes the double quotes around an ARG or ENV value.
func unquoteDocker(v string) string {
	if u, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
		return u
	}
	return v
}

// TestParseDockerfile: the reader on a Dockerfile that has what the
// repository's has, and a few forms it does not use.
func TestParseDockerfile(t *testing.T) {
	df, err := parseDockerfile(`# comment
ARG GLOBAL=1
FROM golang:1.26 AS build
WORKDIR /src
RUN go mod download
COPY . .
ARG VERSION=dev
ARG NODEFAULT
RUN a \
 # a comment inside
 && b "${VERSION}" \
 && c
FROM scratch
COPY --from=build --chown=1:1 /rootfs/ /
ENV A=1 B="two words"
ENV C three words
USER 65532:65532
EXPOSE 8080 8081/udp
HEALTHCHECK --interval=10s --timeout=3s CMD ["/x", "health"]
ENTRYPOINT ["/x", "serve"]
`)
	if err != nil {
		t.Fatal(err)
	}
	if df.args["GLOBAL"] != "1" || len(df.stages) != 2 {
		t.Fatalf("args %v, %d stages", df.args, len(df.stages))
	}
	build, final := df.stage("build"), df.final()
	if build == nil || build.from != "golang:1.26" || final.from != "scratch" || final.name != "" {
		t.Fatalf("stages: %+v %+v", build, final)
	}
	if got := build.runs("COPY . ."); len(got) != 1 || got[0] != `a  && b "${VERSION}"  && c` {
		t.Errorf("RUNs after COPY . .: %q", got)
	}
	if got := build.runs(""); len(got) != 2 {
		t.Errorf("RUNs: %q", got)
	}
	if a := build.args(); len(a) != 2 || a["VERSION"] != "dev" || a["NODEFAULT"] != "" {
		t.Errorf("ARGs: %v", a)
	}
	if c := final.copies(); len(c) != 1 || c[0].from != "build" || c[0].srcs[0] != "/rootfs/" || c[0].dst != "/" {
		t.Errorf("COPY: %+v", c)
	}
	if env, err := final.env(); err != nil || len(env) != 3 || env["A"] != "1" || env["B"] != "two words" || env["C"] != "three words" {
		t.Errorf("ENV: %v %v", env, err)
	}
	if final.user() != "65532:65532" || strings.Join(final.expose(), ",") != "8080,8081/udp" {
		t.Errorf("USER %q, EXPOSE %v", final.user(), final.expose())
	}
	h, err := final.healthcheck()
	if err != nil || h.options["interval"] != "10s" || strings.Join(h.cmd, " ") != "/x health" {
		t.Errorf("HEALTHCHECK: %+v %v", h, err)
	}
	if e, err := final.entrypoint(); err != nil || strings.Join(e, " ") != "/x serve" {
		t.Errorf("ENTRYPOINT: %q %v", e, err)
	}
	shell, _ := parseDockerfile("FROM scratch\nENTRYPOINT /x serve\nHEALTHCHECK CMD /x health\n")
	if _, err := shell.final().entrypoint(); err == nil {
		t.Error("an ENTRYPOINT in shell form was taken")
	}
	if _, err := shell.final().healthcheck(); err == nil {
		t.Error("a HEALTHCHECK in shell form was taken")
	}
}
