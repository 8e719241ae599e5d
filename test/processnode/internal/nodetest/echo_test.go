package nodetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEcho(t *testing.T) {
	for _, tc := range []struct {
		body    string
		want    Echo
		wantErr bool
	}{
		{body: "name=a ip=127.0.202.1 hostname=a pid=42\n", want: Echo{Name: "a", IP: "127.0.202.1", Hostname: "a", PID: 42}},
		// Without fieldRefs the name and IP are empty, and must stay so.
		{body: "name= ip= hostname=echo pid=7\n", want: Echo{Hostname: "echo", PID: 7}},
		{body: "name=a ip=127.0.202.1 hostname=a\n", wantErr: true},
		{body: "<html>not the echo server</html>", wantErr: true},
	} {
		got, err := parseEcho(tc.body)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseEcho(%q) error %v, want one: %v", tc.body, err, tc.wantErr)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("parseEcho(%q) (-want +got):\n%s", tc.body, d)
		}
	}
}
