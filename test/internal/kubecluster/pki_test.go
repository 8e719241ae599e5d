package kubecluster

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

func TestPKIServingCertificateVerifiesForEveryName(t *testing.T) {
	now := time.Now()
	p, err := newPKI(now)
	if err != nil {
		t.Fatal(err)
	}
	ca := parseCert(t, p.caCert)
	if !ca.IsCA {
		t.Fatal("the CA certificate is not a CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	srv := parseCert(t, p.servingCert)
	names := append([]string{"127.0.0.1", "::1", "10.0.0.1"}, servingNames...)
	for _, name := range names {
		if _, err := srv.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: now}); err != nil {
			t.Errorf("serving certificate for %q: %v", name, err)
		}
	}
	if _, err := srv.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: roots, CurrentTime: now}); err == nil {
		t.Error("serving certificate verifies for example.com, a name it should not cover")
	}
	key := parseKey(t, p.servingKey)
	if !key.PublicKey.Equal(srv.PublicKey) {
		t.Error("the serving key does not match the serving certificate")
	}
}

func TestPKIServiceAccountKeysArePair(t *testing.T) {
	p, err := newPKI(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key := parseKey(t, p.saKey)
	b, _ := pem.Decode(p.saPub)
	if b == nil || b.Type != "PUBLIC KEY" {
		t.Fatalf("sa.pub is not a PEM PUBLIC KEY: %q", p.saPub)
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("token"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], sig) {
		t.Error("sa.pub does not verify a signature made with sa.key")
	}
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", data)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseKey(t *testing.T, data []byte) *ecdsa.PrivateKey {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		t.Fatalf("not a PEM private key: %q", data)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("private key is %T, want ECDSA", k)
	}
	return ek
}
