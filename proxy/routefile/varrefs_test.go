package routefile_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

func TestVariableRefs(t *testing.T) {
	src := []byte(`location ~ ^/v/(.*)$ {
    set $vite 127.0.0.1:5173;
    set "$Other" "${vite}/x";
    rewrite ^/v/(.*)$ /$1 break;
    proxy_pass http://$vite/$1;
}
location /b/ { proxy_pass http://$host; }
`)
	f := routefile.Parse("apps/v.conf", src)
	var got []string
	for _, r := range routefile.VariableRefs(f, src) {
		got = append(got, fmt.Sprintf("%s %s-%s name %s-%s set=%v %q", r.Name, r.Range.Start, r.Range.End, r.NameRange.Start, r.NameRange.End, r.Set,
			src[r.Range.Start.Offset:r.Range.End.Offset]))
	}
	want := []string{
		`vite 2:9-2:14 name 2:10-2:14 set=true "$vite"`,
		`other 3:10-3:16 name 3:11-3:16 set=true "$Other"`,
		`vite 3:19-3:26 name 3:21-3:25 set=false "${vite}"`,
		`vite 5:23-5:28 name 5:24-5:28 set=false "$vite"`,
		`host 7:34-7:39 name 7:35-7:39 set=false "$host"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("VariableRefs:\n%q\nwant\n%q", got, want)
	}
}

func TestCheckVariableName(t *testing.T) {
	for name, ok := range map[string]bool{"vite": true, "_x1": true, "Vite_Port": true, "1x": false, "a-b": false, "": false,
		"host": false, "HOST": false, "http_x_user": false, "uri": false, "request_time": false} {
		if got := routefile.CheckVariableName(name) == ""; got != ok {
			t.Errorf("CheckVariableName(%q) = %q", name, routefile.CheckVariableName(name))
		}
	}
}
