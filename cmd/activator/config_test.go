package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/freshetproj/freshet/pkg/activator"
)

func TestParseConfig(t *testing.T) {
	const nats = "nats://nats.freshet-system.svc.cluster.local:4222"
	defaults := Config{
		Addr:            ":8080",
		NATSURL:         nats,
		MaxBodyBytes:    0,
		Grace:           30 * time.Second,
		ScaleInterval:   time.Second,
		BacklogInterval: time.Second,
		LogLevel:        slog.LevelInfo,
	}
	with := func(f func(*Config)) Config { c := defaults; f(&c); return c }
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{name: "defaults", env: map[string]string{"NATS_URL": nats}, want: defaults},
		{
			name: "flags",
			args: []string{"--kubeconfig=/k", "--addr=127.0.0.1:9090", "--nats-url=nats://n:4222", "--max-body-bytes=1024",
				"--grace=5s", "--scale-interval=250ms", "--backlog-interval=2s", "--log-level=debug"},
			want: Config{Kubeconfig: "/k", Addr: "127.0.0.1:9090", NATSURL: "nats://n:4222", MaxBodyBytes: 1024,
				Grace: 5 * time.Second, ScaleInterval: 250 * time.Millisecond, BacklogInterval: 2 * time.Second, LogLevel: slog.LevelDebug},
		},
		{
			name: "environment",
			env: map[string]string{"NATS_URL": "nats://env:4222", "FRESHET_ADDR": ":9", "FRESHET_MAX_BODY_BYTES": "65536",
				"FRESHET_GRACE": "1m", "FRESHET_LOG_LEVEL": "warn"},
			want: with(func(c *Config) {
				c.NATSURL, c.Addr, c.MaxBodyBytes, c.Grace, c.LogLevel = "nats://env:4222", ":9", 65536, time.Minute, slog.LevelWarn
			}),
		},
		{
			name: "a flag wins over the environment",
			args: []string{"--nats-url=nats://flag:4222", "--addr=:7", "--max-body-bytes=10", "--grace=2s", "--log-level=error"},
			env: map[string]string{"NATS_URL": "nats://env:4222", "FRESHET_ADDR": ":9", "FRESHET_MAX_BODY_BYTES": "65536",
				"FRESHET_GRACE": "1m", "FRESHET_LOG_LEVEL": "warn"},
			want: with(func(c *Config) {
				c.NATSURL, c.Addr, c.MaxBodyBytes, c.Grace, c.LogLevel = "nats://flag:4222", ":7", 10, 2*time.Second, slog.LevelError
			}),
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
	nats := map[string]string{"NATS_URL": "nats://n:4222"}
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		wantErr string
	}{
		{wantErr: "set --nats-url or the NATS_URL environment variable"},
		{args: []string{"--nats-url="}, env: nats, wantErr: "set --nats-url or the NATS_URL"},
		{args: []string{"--addr=8080"}, env: nats, wantErr: `--addr "8080": want host:port`},
		{args: []string{"--max-body-bytes=4MiB"}, env: nats, wantErr: "max-body-bytes"},
		{args: []string{"--max-body-bytes=-1"}, env: nats, wantErr: "--max-body-bytes -1: want a number of bytes"},
		{args: []string{"--grace=30"}, env: nats, wantErr: "grace"},
		{args: []string{"--grace=0s"}, env: nats, wantErr: "--grace 0s: want a positive duration"},
		{args: []string{"--scale-interval=-1s"}, env: nats, wantErr: "--scale-interval -1s: want a positive duration"},
		{args: []string{"--backlog-interval=0s"}, env: nats, wantErr: "--backlog-interval 0s: want a positive duration"},
		{args: []string{"--log-level=loud"}, env: nats, wantErr: "log-level"},
		{args: []string{"extra"}, env: nats, wantErr: "unexpected arguments"},
		{env: map[string]string{"NATS_URL": "nats://n:4222", "FRESHET_MAX_BODY_BYTES": "4MiB"}, wantErr: "FRESHET_MAX_BODY_BYTES: want a number of bytes"},
		{env: map[string]string{"NATS_URL": "nats://n:4222", "FRESHET_GRACE": "30"}, wantErr: "FRESHET_GRACE: want a duration"},
		{env: map[string]string{"NATS_URL": "nats://n:4222", "FRESHET_LOG_LEVEL": "loud"}, wantErr: "FRESHET_LOG_LEVEL"},
	} {
		_, err := parseConfig(tc.args, func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parseConfig(%q, %v) = %v, want an error containing %q", tc.args, tc.env, err, tc.wantErr)
		}
	}
}

// TestActivatorConfig checks that every option reaches activator.Run.
func TestActivatorConfig(t *testing.T) {
	c, err := parseConfig([]string{"--addr=:1", "--nats-url=nats://n:4222", "--max-body-bytes=2", "--grace=3s",
		"--scale-interval=4s", "--backlog-interval=5s"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.Default()
	got := c.activatorConfig(log)
	want := activator.Config{Addr: ":1", NATSURL: "nats://n:4222", MaxBodyBytes: 2, Grace: 3 * time.Second,
		ScaleInterval: 4 * time.Second, BacklogInterval: 5 * time.Second, Log: log}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b *slog.Logger) bool { return a == b })); diff != "" {
		t.Errorf("activator config (-want +got):\n%s", diff)
	}
}
