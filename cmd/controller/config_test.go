package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	defaults := Config{
		MetricsAddr:      ":8080",
		HealthProbeAddr:  ":8081",
		LeaderElect:      true,
		LeaderElectionID: DefaultLeaderElectionID,
		ActivatorURL:     DefaultActivatorURL,
		LogLevel:         slog.LevelInfo,
	}
	with := func(f func(*Config)) Config { c := defaults; f(&c); return c }
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{name: "defaults", want: defaults},
		{
			name: "flags",
			args: []string{"--kubeconfig=/k", "--metrics-bind-address=0", "--health-probe-bind-address=:9", "--leader-elect=false",
				"--leader-election-id=x", "--leader-election-namespace=ns", "--activator-url=https://act.example/", "--log-level=debug"},
			want: Config{Kubeconfig: "/k", MetricsAddr: "0", HealthProbeAddr: ":9", LeaderElect: false, LeaderElectionID: "x",
				LeaderElectionNamespace: "ns", ActivatorURL: "https://act.example", LogLevel: slog.LevelDebug},
		},
		{
			name: "environment",
			env: map[string]string{"POD_NAMESPACE": "freshet-system", "FRESHET_ACTIVATOR_URL": "http://a:8080",
				"FRESHET_LEADER_ELECT": "false", "FRESHET_LOG_LEVEL": "warn", "FRESHET_METRICS_BIND_ADDRESS": ":1"},
			want: with(func(c *Config) {
				c.LeaderElectionNamespace, c.ActivatorURL, c.LeaderElect, c.LogLevel, c.MetricsAddr = "freshet-system", "http://a:8080", false, slog.LevelWarn, ":1"
			}),
		},
		{
			name: "a flag wins over the environment",
			args: []string{"--activator-url=http://flag", "--leader-elect"},
			env:  map[string]string{"FRESHET_ACTIVATOR_URL": "http://env", "FRESHET_LEADER_ELECT": "false"},
			want: with(func(c *Config) { c.ActivatorURL = "http://flag" }),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfig(tc.args, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		wantErr string
	}{
		{args: []string{"--activator-url=freshet-activator"}, wantErr: "absolute http or https URL"},
		{args: []string{"--activator-url=ftp://x"}, wantErr: "absolute http or https URL"},
		{args: []string{"--activator-url=http://x/?q=1"}, wantErr: "without query"},
		{args: []string{"--leader-election-id="}, wantErr: "must not be empty"},
		{args: []string{"--log-level=loud"}, wantErr: "log-level"},
		{args: []string{"extra"}, wantErr: "unexpected arguments"},
		{env: map[string]string{"FRESHET_LEADER_ELECT": "maybe"}, wantErr: "FRESHET_LEADER_ELECT"},
		{env: map[string]string{"FRESHET_LOG_LEVEL": "loud"}, wantErr: "FRESHET_LOG_LEVEL"},
	} {
		_, err := parseConfig(tc.args, func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parseConfig(%q, %v) = %v, want an error containing %q", tc.args, tc.env, err, tc.wantErr)
		}
	}
}
