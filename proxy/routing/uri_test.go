package routing

import "testing"

// TestParseURIDotSegmentsAtTheEnd covers dot segments that end the path:
// before a fragment, before the query, at the very end, and their
// percent-encoded spellings. nginx (ngx_http_parse_complex_uri) resolves
// "." and ".." in states sw_dot and sw_dot_dot when the next byte is '/',
// '?' or '#', and again after the loop when the target ends there; a '#'
// jumps past that final step, so it must not resolve the segment twice.
func TestParseURIDotSegmentsAtTheEnd(t *testing.T) {
	tests := []struct {
		target  string
		path    string
		args    string
		hasArgs bool
		bad     bool
	}{
		// before a fragment
		{target: "/foo/bar/.#frag", path: "/foo/bar/"},
		{target: "/foo/bar/..#frag", path: "/foo/"},
		{target: "/foo/bar/.#", path: "/foo/bar/"},
		{target: "/foo/bar/..#", path: "/foo/"},
		{target: "/foo/.#?x=1", path: "/foo/"}, // the query is part of the fragment
		{target: "/.#frag", path: "/"},
		{target: "/..#frag", bad: true},
		{target: "/a/..#frag", path: "/"},
		{target: "/foo/bar#frag", path: "/foo/bar"},
		{target: "/foo/bar/#frag", path: "/foo/bar/"},
		{target: "/foo/bar/.x#frag", path: "/foo/bar/.x"},
		{target: "/foo/bar/...#frag", path: "/foo/bar/..."},
		// encoded dots before a fragment
		{target: "/foo/bar/%2E#frag", path: "/foo/bar/"},
		{target: "/foo/bar/%2e%2E#frag", path: "/foo/"},
		{target: "/foo/bar/.%2e#frag", path: "/foo/"},
		{target: "/foo/bar/%2e.#frag", path: "/foo/"},
		// before the query
		{target: "/foo/bar/.?x=1", path: "/foo/bar/", args: "x=1", hasArgs: true},
		{target: "/foo/bar/..?x=1", path: "/foo/", args: "x=1", hasArgs: true},
		{target: "/foo/bar/..?", path: "/foo/", hasArgs: true},
		{target: "/foo/bar/%2E?x=1#f", path: "/foo/bar/", args: "x=1", hasArgs: true},
		{target: "/foo/bar/%2E%2E?x=1", path: "/foo/", args: "x=1", hasArgs: true},
		{target: "/..?x=1", bad: true},
		// at the end
		{target: "/foo/bar/.", path: "/foo/bar/"},
		{target: "/foo/bar/..", path: "/foo/"},
		{target: "/foo/bar/%2E", path: "/foo/bar/"},
		{target: "/foo/bar/%2e%2e", path: "/foo/"},
		{target: "/..", bad: true},
		{target: "/%2e%2e", bad: true},
		// escaped '?' and '#' are part of the path, so the segment is no
		// dot segment
		{target: "/a/.%3F", path: "/a/.?"},
		{target: "/a/..%3f", path: "/a/..?"},
		{target: "/a/.%23", path: "/a/.#"},
		{target: "/a/..%23x", path: "/a/..#x"},
		// a broken escape before the fragment
		{target: "/a/.%2#f", bad: true},
	}
	for _, tt := range tests {
		pu, err := ParseURI(tt.target)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseURI(%q) = path %q, want 400", tt.target, pu.Path)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURI(%q): %v, want path %q", tt.target, err, tt.path)
			continue
		}
		if pu.Path != tt.path || pu.Args != tt.args || pu.HasArgs != tt.hasArgs {
			t.Errorf("ParseURI(%q) = path %q args %q (has %v), want path %q args %q (has %v)",
				tt.target, pu.Path, pu.Args, pu.HasArgs, tt.path, tt.args, tt.hasArgs)
		}
	}
}
