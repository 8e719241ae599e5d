package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// ConnOpts are the franz-go options that reach the brokers: the seed
// brokers, TLS and SASL. The Kafka sink uses them too. The SASL password
// is read from the environment variable the spec names, now.
func ConnOpts(brokers []string, tlsSpec *v1alpha1.TLSConfig, saslSpec *v1alpha1.SASLConfig) ([]kgo.Opt, error) {
	if len(brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...)}
	if tlsSpec != nil {
		c, err := tlsConfig(tlsSpec)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(c))
	}
	if saslSpec != nil {
		m, err := saslMechanism(saslSpec, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// tlsConfig builds the client's TLS configuration: the CA file's roots
// (default the system's), a client certificate for mutual TLS, and
// InsecureSkipVerify. ServerName is left for franz-go to fill per broker.
func tlsConfig(spec *v1alpha1.TLSConfig) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: spec.InsecureSkipVerify} //nolint:gosec // asked for
	if spec.CAFile != "" {
		pem, err := os.ReadFile(spec.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka tls: ca file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka tls: ca file %s holds no PEM certificate", spec.CAFile)
		}
	}
	switch {
	case spec.CertFile != "" && spec.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(spec.CertFile, spec.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka tls: client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	case spec.CertFile != "" || spec.KeyFile != "":
		return nil, errors.New("kafka tls: certFile and keyFile go together")
	}
	return c, nil
}

// saslMechanism builds the SASL mechanism, the password read with lookup.
func saslMechanism(spec *v1alpha1.SASLConfig, lookup func(string) (string, bool)) (sasl.Mechanism, error) {
	if spec.PasswordEnv == "" {
		return nil, errors.New("kafka sasl: passwordEnv is not set")
	}
	pass, ok := lookup(spec.PasswordEnv)
	if !ok {
		return nil, fmt.Errorf("kafka sasl: environment variable %s (passwordEnv) is not set", spec.PasswordEnv)
	}
	switch spec.Mechanism {
	case "PLAIN":
		return plain.Auth{User: spec.Username, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: spec.Username, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: spec.Username, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("kafka sasl: unknown mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", spec.Mechanism)
}
