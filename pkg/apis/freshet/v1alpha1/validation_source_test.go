package v1alpha1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestPulsarValidate(t *testing.T) {
	source := func() *PulsarSource {
		return &PulsarSource{ServiceURL: "pulsar://p:6650", Topics: []string{"t", "persistent://acme/ns/t", "acme/ns/u"}}
	}
	sink := func() *PulsarSink { return &PulsarSink{ServiceURL: "pulsar+ssl://p:6651", Topic: "t"} }
	tests := []struct {
		name   string
		source func(*PulsarSource)
		sink   func(*PulsarSink)
		want   []fieldErr
	}{
		{"valid", func(*PulsarSource) {}, func(*PulsarSink) {}, nil},
		{"valid with options", func(p *PulsarSource) {
			p.ServiceURL = "pulsar+ssl://p:6651"
			p.AdminURL, p.SubscriptionType, p.InitialPosition = "http://p:8080", PulsarKeyShared, KafkaLatest
			p.Auth, p.TLS = &PulsarAuth{TokenFile: "/t"}, &TLSConfig{CertFile: "c", KeyFile: "k"}
		}, func(p *PulsarSink) { p.Mode, p.Auth = KafkaStructured, &PulsarAuth{TokenEnv: "T"} }, nil},
		{"no service URL", func(p *PulsarSource) { p.ServiceURL = "" }, func(p *PulsarSink) { p.ServiceURL = "" },
			[]fieldErr{required("s.pulsar.serviceURL"), required("k.pulsar.serviceURL")}},
		{"not a pulsar URL", func(p *PulsarSource) { p.ServiceURL = "http://p:8080" }, func(p *PulsarSink) { p.ServiceURL = "pulsar://" },
			[]fieldErr{invalid("s.pulsar.serviceURL"), invalid("k.pulsar.serviceURL")}},
		{"bad topics", func(p *PulsarSource) {
			p.Topics = []string{"", "kafka://a/b/c", "persistent://a/b", "non-persistent://a/b/c", "persistent://t"}
		}, func(p *PulsarSink) { p.Topic = "a/b" },
			[]fieldErr{required("s.pulsar.topics[0]"), invalid("s.pulsar.topics[1]"), invalid("s.pulsar.topics[2]"), invalid("s.pulsar.topics[3]"), invalid("s.pulsar.topics[4]"), invalid("k.pulsar.topic")}},
		{"no topics", func(p *PulsarSource) { p.Topics = nil }, func(*PulsarSink) {}, []fieldErr{required("s.pulsar.topics")}},
		{"bad choices", func(p *PulsarSource) {
			p.SubscriptionType, p.InitialPosition, p.AdminURL = "Exclusive", "middle", "p:8080"
		}, func(p *PulsarSink) { p.Mode = "json" },
			[]fieldErr{invalid("s.pulsar.adminURL"), notSupported("s.pulsar.subscriptionType"), notSupported("s.pulsar.initialPosition"), notSupported("k.pulsar.mode")}},
		{"auth of two kinds or none, half a certificate", func(p *PulsarSource) {
			p.Auth, p.TLS = &PulsarAuth{TokenEnv: "T", TokenFile: "/t"}, &TLSConfig{CertFile: "c"}
		}, func(p *PulsarSink) { p.Auth = &PulsarAuth{} },
			[]fieldErr{invalid("s.pulsar.auth"), invalid("s.pulsar.tls"), invalid("s.pulsar.tls"), invalid("k.pulsar.auth")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, snk := source(), sink()
			tc.source(src)
			tc.sink(snk)
			errs := validateSource(&Source{Pulsar: src}, field.NewPath("s"))
			errs = append(errs, validatePulsarSink(snk, field.NewPath("k", "pulsar"))...)
			if diff := cmp.Diff(tc.want, summarize(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s\n%v", diff, errs)
			}
		})
	}
}

func TestPulsarDefaults(t *testing.T) {
	s := &Source{Pulsar: &PulsarSource{ServiceURL: "pulsar://p:6650", Topics: []string{"t"}}}
	s.SetDefaults()
	want := PulsarSource{ServiceURL: "pulsar://p:6650", Topics: []string{"t"},
		SubscriptionType: PulsarShared, InitialPosition: KafkaEarliest, EventType: DefaultPulsarEventType}
	if diff := cmp.Diff(want, *s.Pulsar); diff != "" {
		t.Errorf("defaulted source (-want +got):\n%s", diff)
	}
	k := &Sink{Pulsar: &PulsarSink{ServiceURL: "pulsar://p:6650", Topic: "t"}}
	k.SetDefaults()
	if k.Pulsar.Mode != KafkaBinary {
		t.Errorf("sink mode %q, want %q", k.Pulsar.Mode, KafkaBinary)
	}
}
