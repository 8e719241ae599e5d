package v1alpha1

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validateSource(s *Source, path *field.Path) field.ErrorList {
	errs := exactlyOne(path, []string{"http", "kafka", "sqs", "pulsar"}, []bool{s.HTTP != nil, s.Kafka != nil, s.SQS != nil, s.Pulsar != nil})
	if k := s.Kafka; k != nil {
		kp := path.Child("kafka")
		errs = append(errs, validateBrokers(k.Brokers, kp.Child("brokers"))...)
		if len(k.Topics) == 0 {
			errs = append(errs, field.Required(kp.Child("topics"), "name at least one topic"))
		}
		for i, t := range k.Topics {
			errs = append(errs, validateTopic(t, kp.Child("topics").Index(i))...)
		}
		if o := k.InitialOffset; o != "" && o != KafkaEarliest && o != KafkaLatest {
			errs = append(errs, field.NotSupported(kp.Child("initialOffset"), o, []string{KafkaEarliest, KafkaLatest}))
		}
		errs = append(errs, validateSASL(k.SASL, kp.Child("sasl"))...)
	}
	if q := s.SQS; q != nil {
		qp := path.Child("sqs")
		errs = append(errs, validateQueue(q.QueueURL, q.Endpoint, qp)...)
		if d := q.VisibilityTimeout; d != nil && (d.Duration < time.Second || d.Duration > 12*time.Hour) {
			errs = append(errs, field.Invalid(qp.Child("visibilityTimeout"), d.Duration.String(), "must be between 1s and 12h, as SQS allows"))
		}
	}
	if p := s.Pulsar; p != nil {
		errs = append(errs, validatePulsarSource(p, path.Child("pulsar"))...)
	}
	return errs
}

func validatePulsarSource(p *PulsarSource, path *field.Path) field.ErrorList {
	errs := validatePulsarConn(p.ServiceURL, p.Auth, p.TLS, path)
	if p.AdminURL != "" {
		errs = append(errs, validateAbsoluteHTTP(p.AdminURL, path.Child("adminURL"))...)
	}
	if len(p.Topics) == 0 {
		errs = append(errs, field.Required(path.Child("topics"), "name at least one topic"))
	}
	for i, t := range p.Topics {
		errs = append(errs, validatePulsarTopic(t, path.Child("topics").Index(i))...)
	}
	switch t := p.SubscriptionType; t {
	case "", PulsarShared, PulsarKeyShared, PulsarFailover:
	default:
		errs = append(errs, field.NotSupported(path.Child("subscriptionType"), t, []string{PulsarShared, PulsarKeyShared, PulsarFailover}))
	}
	if o := p.InitialPosition; o != "" && o != KafkaEarliest && o != KafkaLatest {
		errs = append(errs, field.NotSupported(path.Child("initialPosition"), o, []string{KafkaEarliest, KafkaLatest}))
	}
	return errs
}

func validatePulsarSink(p *PulsarSink, path *field.Path) field.ErrorList {
	errs := validatePulsarConn(p.ServiceURL, p.Auth, p.TLS, path)
	errs = append(errs, validatePulsarTopic(p.Topic, path.Child("topic"))...)
	if m := p.Mode; m != "" && m != KafkaBinary && m != KafkaStructured {
		errs = append(errs, field.NotSupported(path.Child("mode"), m, []string{KafkaBinary, KafkaStructured}))
	}
	return errs
}

// validatePulsarConn checks the service URL and the auth options a Pulsar
// source and sink share.
func validatePulsarConn(serviceURL string, auth *PulsarAuth, tls *TLSConfig, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	u, err := url.Parse(serviceURL)
	switch {
	case serviceURL == "":
		errs = append(errs, field.Required(path.Child("serviceURL"), "the broker's URL, pulsar://host:6650, is required"))
	case err != nil || (u.Scheme != "pulsar" && u.Scheme != "pulsar+ssl") || u.Host == "":
		errs = append(errs, field.Invalid(path.Child("serviceURL"), serviceURL, "must be pulsar://host:port or pulsar+ssl://host:port"))
	}
	if auth != nil && (auth.TokenEnv == "") == (auth.TokenFile == "") {
		errs = append(errs, field.Invalid(path.Child("auth"), "", "auth is exactly one of tokenEnv or tokenFile"))
	}
	if tls != nil && err == nil && u.Scheme == "pulsar" {
		errs = append(errs, field.Invalid(path.Child("tls"), "", "tls needs a pulsar+ssl:// serviceURL"))
	}
	if tls != nil && (tls.CertFile == "") != (tls.KeyFile == "") {
		errs = append(errs, field.Invalid(path.Child("tls"), "", "certFile and keyFile go together"))
	}
	return errs
}

// validatePulsarTopic accepts a short name (in public/default),
// tenant/namespace/topic, or persistent://tenant/namespace/topic; not
// non-persistent topics, which keep no message for a consumer away.
func validatePulsarTopic(t string, path *field.Path) field.ErrorList {
	if t == "" {
		return field.ErrorList{field.Required(path, "a topic name is required")}
	}
	rest := t
	if scheme, after, ok := strings.Cut(t, "://"); ok {
		if scheme == "non-persistent" {
			return field.ErrorList{field.Invalid(path, t, "a non-persistent topic loses messages not yet acked: use persistent://")}
		}
		if scheme != "persistent" {
			return field.ErrorList{field.Invalid(path, t, "a Pulsar topic is persistent://<tenant>/<namespace>/<topic>")}
		}
		rest = after
	}
	parts := strings.Split(rest, "/")
	if (len(parts) != 1 && len(parts) != 3) || slices.Contains(parts, "") || strings.Contains(rest, " ") ||
		(rest != t && len(parts) != 3) {
		return field.ErrorList{field.Invalid(path, t, "a Pulsar topic is <topic>, <tenant>/<namespace>/<topic> or persistent://<tenant>/<namespace>/<topic>")}
	}
	return nil
}

func validateKafkaSink(k *KafkaSink, path *field.Path) field.ErrorList {
	errs := validateBrokers(k.Brokers, path.Child("brokers"))
	errs = append(errs, validateTopic(k.Topic, path.Child("topic"))...)
	if m := k.Mode; m != "" && m != KafkaBinary && m != KafkaStructured {
		errs = append(errs, field.NotSupported(path.Child("mode"), m, []string{KafkaBinary, KafkaStructured}))
	}
	return append(errs, validateSASL(k.SASL, path.Child("sasl"))...)
}

func validateBrokers(brokers []string, path *field.Path) field.ErrorList {
	if len(brokers) == 0 {
		return field.ErrorList{field.Required(path, "name at least one broker, host:port")}
	}
	var errs field.ErrorList
	for i, b := range brokers {
		host, port, err := net.SplitHostPort(b)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			errs = append(errs, field.Invalid(path.Index(i), b, "must be host:port"))
		}
	}
	return errs
}

// validateTopic applies Kafka's own rule: 1 to 249 of [a-zA-Z0-9._-].
func validateTopic(t string, path *field.Path) field.ErrorList {
	if t == "" {
		return field.ErrorList{field.Required(path, "a topic name is required")}
	}
	if len(t) > 249 || t == "." || t == ".." {
		return field.ErrorList{field.Invalid(path, t, "is not a valid Kafka topic name")}
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return field.ErrorList{field.Invalid(path, t, "a Kafka topic name has only letters, digits, '.', '_' and '-'")}
		}
	}
	return nil
}

func validateSASL(s *SASLConfig, path *field.Path) field.ErrorList {
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	switch s.Mechanism {
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		errs = append(errs, field.NotSupported(path.Child("mechanism"), s.Mechanism, []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}))
	}
	if s.Username == "" {
		errs = append(errs, field.Required(path.Child("username"), ""))
	}
	if s.PasswordEnv == "" {
		errs = append(errs, field.Required(path.Child("passwordEnv"), "name the environment variable that holds the password"))
	}
	return errs
}

func validateQueue(queueURL, endpoint string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if queueURL == "" {
		errs = append(errs, field.Required(path.Child("queueURL"), "the queue's URL is required"))
	} else {
		errs = append(errs, validateAbsoluteHTTP(queueURL, path.Child("queueURL"))...)
	}
	if endpoint != "" {
		errs = append(errs, validateAbsoluteHTTP(endpoint, path.Child("endpoint"))...)
	}
	return errs
}
