package v1alpha1

import (
	"net"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validateSource(s *Source, path *field.Path) field.ErrorList {
	errs := exactlyOne(path, []string{"http", "kafka", "sqs"}, []bool{s.HTTP != nil, s.Kafka != nil, s.SQS != nil})
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
	return errs
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
