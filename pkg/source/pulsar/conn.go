package pulsar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Conn is how to reach a broker: the part of the spec the source and the
// sink share.
type Conn struct {
	ServiceURL string
	Auth       *v1alpha1.PulsarAuth
	TLS        *v1alpha1.TLSConfig
}

// ClientOptions are the pulsar-client-go options that reach the broker:
// its URL, TLS, and the token (read now from the environment variable the
// spec names, or on every connection from its file) or client
// certificate that authenticates. With both a token and a certificate,
// the token authenticates and the certificate is sent as mutual TLS.
func (c Conn) ClientOptions() (pulsar.ClientOptions, error) {
	u, err := url.Parse(c.ServiceURL)
	if err != nil || (u.Scheme != "pulsar" && u.Scheme != "pulsar+ssl") || u.Host == "" {
		return pulsar.ClientOptions{}, fmt.Errorf("pulsar: service URL %q is not pulsar://host:port or pulsar+ssl://host:port", c.ServiceURL)
	}
	opts := pulsar.ClientOptions{
		URL:    c.ServiceURL,
		Logger: pulsarlog.NewLoggerWithSlog(slog.New(warnings{slog.Default().Handler()}).With("system", "pulsar")),
	}
	if t := c.TLS; t != nil {
		if u.Scheme != "pulsar+ssl" {
			return opts, fmt.Errorf("pulsar: tls is set but the service URL %s is not pulsar+ssl://", c.ServiceURL)
		}
		if (t.CertFile == "") != (t.KeyFile == "") {
			return opts, errors.New("pulsar tls: certFile and keyFile go together")
		}
		opts.TLSTrustCertsFilePath = t.CAFile
		opts.TLSAllowInsecureConnection = t.InsecureSkipVerify
		opts.TLSValidateHostname = !t.InsecureSkipVerify
		if t.CertFile != "" && c.Auth == nil {
			opts.Authentication = pulsar.NewAuthenticationTLS(t.CertFile, t.KeyFile)
		} else {
			opts.TLSCertificateFile, opts.TLSKeyFilePath = t.CertFile, t.KeyFile
		}
	}
	if c.Auth != nil {
		token, file, err := c.token(os.LookupEnv)
		if err != nil {
			return opts, err
		}
		if file != "" {
			opts.Authentication = pulsar.NewAuthenticationTokenFromFile(file)
		} else {
			opts.Authentication = pulsar.NewAuthenticationToken(token)
		}
	}
	return opts, nil
}

// AdminConfig is the configuration of pulsaradmin for the broker's web
// service at adminURL (default: the service URL's host on Pulsar's
// default web port, 8080 or 8443 for TLS), with the same TLS and
// authentication as ClientOptions.
func (c Conn) AdminConfig(adminURL string) (*config.Config, error) {
	if adminURL == "" {
		u, err := url.Parse(c.ServiceURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("pulsar: service URL %q has no host", c.ServiceURL)
		}
		// pulsar://h1:6650,h2:6650 names several brokers: take the first.
		first, _, _ := strings.Cut(u.Host, ",")
		host, _, err := net.SplitHostPort(first)
		if err != nil {
			host = first // no port
		}
		adminURL = "http://" + net.JoinHostPort(host, "8080")
		if u.Scheme == "pulsar+ssl" {
			adminURL = "https://" + net.JoinHostPort(host, "8443")
		}
	}
	cfg := &config.Config{WebServiceURL: adminURL}
	if t := c.TLS; t != nil {
		cfg.TLSTrustCertsFilePath = t.CAFile
		cfg.TLSAllowInsecureConnection = t.InsecureSkipVerify
		cfg.TLSEnableHostnameVerification = !t.InsecureSkipVerify
		if c.Auth == nil {
			cfg.TLSCertFile, cfg.TLSKeyFile = t.CertFile, t.KeyFile
		}
	}
	if c.Auth != nil {
		token, file, err := c.token(os.LookupEnv)
		if err != nil {
			return nil, err
		}
		cfg.Token, cfg.TokenFile = token, file
	}
	return cfg, nil
}

// token is the auth token from the environment variable the spec names
// (read with lookup), or else the file that holds it.
func (c Conn) token(lookup func(string) (string, bool)) (token, file string, err error) {
	a := c.Auth
	switch {
	case a.TokenEnv != "" && a.TokenFile != "":
		return "", "", errors.New("pulsar auth: set one of tokenEnv and tokenFile, not both")
	case a.TokenFile != "":
		return "", a.TokenFile, nil
	case a.TokenEnv != "":
		token, ok := lookup(a.TokenEnv)
		if !ok || token == "" {
			return "", "", fmt.Errorf("pulsar auth: environment variable %s (tokenEnv) is not set", a.TokenEnv)
		}
		return token, "", nil
	}
	return "", "", errors.New("pulsar auth: set tokenEnv or tokenFile")
}

// warnings passes on only warnings and errors: the client logs every
// connection, subscription and producer at Info.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnings{w.Handler.WithAttrs(attrs)}
}

func (w warnings) WithGroup(name string) slog.Handler { return warnings{w.Handler.WithGroup(name)} }
