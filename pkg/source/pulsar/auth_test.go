package pulsar

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
	brokers "github.com/freshetproj/freshet/test/brokers/pulsar"
)

// TestTokenAuth runs against a broker that requires a token: a source
// given the token in an environment variable or a file reads and reports
// its backlog (the admin API takes the token too); one with a bad token
// fails to read saying why; one naming an unset variable fails to open.
func TestTokenAuth(t *testing.T) {
	b := brokers.StartWith(t, brokers.Options{TokenAuth: true})
	c := &cluster{b: b, cl: b.Client(t)}
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokenFile, b.SignToken("freshet"))
	t.Setenv("FRESHET_TEST_PULSAR_TOKEN", b.SignToken("freshet"))

	for _, auth := range []*v1alpha1.PulsarAuth{{TokenEnv: "FRESHET_TEST_PULSAR_TOKEN"}, {TokenFile: tokenFile}} {
		topic := c.topic(t, 0)
		sent := sourcetest.Events("auth", 5)
		c.produceEvents(t, topic, false, sent)
		spec := c.spec(v1alpha1.PulsarShared, topic)
		spec.Auth = auth
		s := open(t, spec, unique(t, "sub"))
		sourcetest.Eventually(t, 30*time.Second, "a backlog of 5 through the authenticated admin API", func() (bool, string) {
			n, err := s.Backlog(context.Background())
			if err != nil {
				return false, err.Error()
			}
			return n == 5, ""
		})
		sourcetest.ReadUntil(t, s, sourcetest.IDs(sent), 30*time.Second, true)
		if auth.TokenFile != "" { // the file is read again: a bad token fails, a good one works
			writeToken(t, tokenFile, "not-a-token")
			if _, err := s.Backlog(context.Background()); err == nil {
				t.Error("backlog with a bad token in the file: no error")
			}
			writeToken(t, tokenFile, b.SignToken("freshet"))
			if _, err := s.Backlog(context.Background()); err != nil {
				t.Errorf("backlog with the token restored: %v", err)
			}
		}
	}

	t.Setenv("FRESHET_TEST_PULSAR_TOKEN", "not-a-token")
	spec := c.spec(v1alpha1.PulsarShared, c.topic(t, 0))
	spec.Auth = &v1alpha1.PulsarAuth{TokenEnv: "FRESHET_TEST_PULSAR_TOKEN"}
	s := open(t, spec, unique(t, "sub"))
	if _, err := s.Read(context.Background(), 1, time.Second); err == nil || !strings.Contains(strings.ToLower(err.Error()), "auth") {
		t.Errorf("read with a bad token: %v, want an authentication error", err)
	}

	spec.Auth = &v1alpha1.PulsarAuth{TokenEnv: "FRESHET_TEST_NO_SUCH_VARIABLE"}
	if _, err := Open(context.Background(), spec, "sub"); err == nil || !strings.Contains(err.Error(), "FRESHET_TEST_NO_SUCH_VARIABLE") {
		t.Errorf("open naming an unset variable: %v, want an error naming it", err)
	}
}

func writeToken(t *testing.T, path, token string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
