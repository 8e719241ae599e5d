package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
)

func TestSASLMechanism(t *testing.T) {
	env := map[string]string{"KAFKA_PW": "secret"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		spec     v1alpha1.SASLConfig
		wantName string
		wantErr  string
	}{
		{spec: v1alpha1.SASLConfig{Mechanism: "PLAIN", Username: "u", PasswordEnv: "KAFKA_PW"}, wantName: "PLAIN"},
		{spec: v1alpha1.SASLConfig{Mechanism: "SCRAM-SHA-256", Username: "u", PasswordEnv: "KAFKA_PW"}, wantName: "SCRAM-SHA-256"},
		{spec: v1alpha1.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "u", PasswordEnv: "KAFKA_PW"}, wantName: "SCRAM-SHA-512"},
		{spec: v1alpha1.SASLConfig{Mechanism: "PLAIN", Username: "u", PasswordEnv: "NOT_SET"}, wantErr: "environment variable NOT_SET (passwordEnv) is not set"},
		{spec: v1alpha1.SASLConfig{Mechanism: "PLAIN", Username: "u"}, wantErr: "passwordEnv is not set"},
		{spec: v1alpha1.SASLConfig{Mechanism: "GSSAPI", Username: "u", PasswordEnv: "KAFKA_PW"}, wantErr: `unknown mechanism "GSSAPI"`},
	} {
		t.Run(tc.spec.Mechanism+"/"+tc.spec.PasswordEnv, func(t *testing.T) {
			m, err := saslMechanism(&tc.spec, lookup)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case m.Name() != tc.wantName:
				t.Errorf("mechanism %s, want %s", m.Name(), tc.wantName)
			}
		})
	}
}

func TestTLSConfig(t *testing.T) {
	pki := newPKI(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		spec    v1alpha1.TLSConfig
		check   func(*tls.Config) bool
		wantErr string
	}{
		{name: "system roots", check: func(c *tls.Config) bool { return c.RootCAs == nil && !c.InsecureSkipVerify }},
		{name: "ca file", spec: v1alpha1.TLSConfig{CAFile: pki.caFile}, check: func(c *tls.Config) bool { return c.RootCAs != nil }},
		{name: "client certificate", spec: v1alpha1.TLSConfig{CertFile: pki.certFile, KeyFile: pki.keyFile},
			check: func(c *tls.Config) bool { return len(c.Certificates) == 1 }},
		{name: "insecure", spec: v1alpha1.TLSConfig{InsecureSkipVerify: true}, check: func(c *tls.Config) bool { return c.InsecureSkipVerify }},
		{name: "missing ca file", spec: v1alpha1.TLSConfig{CAFile: "/nonexistent/ca.pem"}, wantErr: "ca file"},
		{name: "ca file without a certificate", spec: v1alpha1.TLSConfig{CAFile: notPEM}, wantErr: "holds no PEM certificate"},
		{name: "certificate without key", spec: v1alpha1.TLSConfig{CertFile: pki.certFile}, wantErr: "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tlsConfig(&tc.spec)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case !tc.check(c):
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

// TestTLSAndSASL reads through a Source from a kfake cluster that wants
// mutual TLS and SASL, once per mechanism.
func TestTLSAndSASL(t *testing.T) {
	pki := newPKI(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(time.Second),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool, ClientAuth: tls.RequireAndVerifyClientCert}),
		kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plain-user", "pw-plain"),
		kfake.Superuser("SCRAM-SHA-256", "scram256-user", "pw-256"),
		kfake.Superuser("SCRAM-SHA-512", "scram512-user", "pw-512"),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	tlsSpec := &v1alpha1.TLSConfig{CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile}
	for _, tc := range []struct{ mechanism, user, pass string }{
		{"PLAIN", "plain-user", "pw-plain"},
		{"SCRAM-SHA-256", "scram256-user", "pw-256"},
		{"SCRAM-SHA-512", "scram512-user", "pw-512"},
	} {
		t.Run(tc.mechanism, func(t *testing.T) {
			t.Setenv("FRESHET_TEST_KAFKA_PASSWORD", tc.pass)
			sasl := &v1alpha1.SASLConfig{Mechanism: tc.mechanism, Username: tc.user, PasswordEnv: "FRESHET_TEST_KAFKA_PASSWORD"}
			conn, err := ConnOpts(c.ListenAddrs(), tlsSpec, sasl)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(conn...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cl.Close)
			sec := &cluster{addr: c.ListenAddrs()[0], adm: kadm.NewClient(cl), cl: cl}
			topic := sec.topic(t, 1)
			sec.produce(t, &kgo.Record{Topic: topic, Value: []byte("secret")})

			spec := sec.spec(topic)
			spec.TLS, spec.SASL = tlsSpec, sasl
			s := sec.open(t, spec, unique(t, "group"))
			sourcetest.AckAll(t, sourcetest.ReadUntil(t, s, []string{topic + "/0/0"}, 20*time.Second, false))

			t.Setenv("FRESHET_TEST_KAFKA_PASSWORD", "wrong")
			bad := sec.open(t, spec, unique(t, "group"))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := bad.Backlog(ctx); err == nil {
				t.Error("Backlog with a wrong password: no error")
			}
		})
	}
}

// pki is a CA, a certificate for 127.0.0.1 it signed (the server's and
// the client's), and their files.
type pki struct {
	pool                      *x509.CertPool
	server                    tls.Certificate
	caFile, certFile, keyFile string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, leafKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "freshet test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{pool: x509.NewCertPool(), caFile: write("ca.pem", "CERTIFICATE", caDER),
		certFile: write("cert.pem", "CERTIFICATE", leafDER), keyFile: write("key.pem", "EC PRIVATE KEY", keyDER)}
	p.pool.AddCert(caCert)
	if p.server, err = tls.LoadX509KeyPair(p.certFile, p.keyFile); err != nil {
		t.Fatal(err)
	}
	return p
}
