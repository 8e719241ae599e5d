package pulsar

import (
	"testing"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

func TestAdminURLDefault(t *testing.T) {
	for serviceURL, want := range map[string]string{
		"pulsar://broker:6650":             "http://broker:8080",
		"pulsar+ssl://broker:6651":         "https://broker:8443",
		"pulsar://h1:6650,h2:6650,h3:6650": "http://h1:8080",
		"pulsar://[::1]:6650":              "http://[::1]:8080",
		"pulsar://broker":                  "http://broker:8080",
	} {
		cfg, err := Conn{ServiceURL: serviceURL}.AdminConfig("")
		if err != nil || cfg.WebServiceURL != want {
			t.Errorf("%s: admin URL %v (%v), want %s", serviceURL, cfg, err, want)
		}
	}
	cfg, err := Conn{ServiceURL: "pulsar://b:6650"}.AdminConfig("http://admin:80")
	if err != nil || cfg.WebServiceURL != "http://admin:80" {
		t.Errorf("a given admin URL: %v (%v)", cfg, err)
	}
}

func TestClientOptionsRefuses(t *testing.T) {
	for name, c := range map[string]Conn{
		"an http URL":        {ServiceURL: "http://b:8080"},
		"tls on pulsar://":   {ServiceURL: "pulsar://b:6650", TLS: &v1alpha1.TLSConfig{}},
		"half a certificate": {ServiceURL: "pulsar+ssl://b:6651", TLS: &v1alpha1.TLSConfig{CertFile: "c"}},
		"an unset token env": {ServiceURL: "pulsar://b:6650", Auth: &v1alpha1.PulsarAuth{TokenEnv: "FRESHET_TEST_UNSET_TOKEN"}},
		"two kinds of token": {ServiceURL: "pulsar://b:6650", Auth: &v1alpha1.PulsarAuth{TokenEnv: "X", TokenFile: "/x"}},
	} {
		if _, err := c.ClientOptions(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
