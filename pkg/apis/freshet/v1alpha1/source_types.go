package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// KafkaSource consumes records from Kafka topics as one consumer group.
// Records in the CloudEvents Kafka binding (binary mode ce_ headers, or
// structured mode application/cloudevents+json) are read as those events;
// any other record is wrapped in an event of EventType and EventSource,
// its key kept in the partitionkey extension.
type KafkaSource struct {
	// Brokers are the bootstrap brokers, host:port.
	// +kubebuilder:validation:MinItems=1
	Brokers []string `json:"brokers"`
	// Topics are read together.
	// +kubebuilder:validation:MinItems=1
	Topics []string `json:"topics"`
	// ConsumerGroup defaults to freshet.<namespace>.<pipeline>.<vertex>.
	// +optional
	ConsumerGroup string `json:"consumerGroup,omitempty"`
	// InitialOffset is where a group with no committed offset starts:
	// earliest (default: nothing already in the topic is skipped) or
	// latest.
	// +kubebuilder:validation:Enum=earliest;latest
	// +optional
	InitialOffset string `json:"initialOffset,omitempty"`
	// EventType of wrapped plain records. Default dev.freshet.kafka.record.
	// +optional
	EventType string `json:"eventType,omitempty"`
	// EventSource of wrapped plain records. Default /kafka/<topic>.
	// +optional
	EventSource string `json:"eventSource,omitempty"`
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`
	// +optional
	SASL *SASLConfig `json:"sasl,omitempty"`
}

// KafkaSink produces each event as a record with the CloudEvents Kafka
// binding, keyed by its partitionkey extension, with an idempotent
// producer; an event is done once the broker confirmed it.
type KafkaSink struct {
	// +kubebuilder:validation:MinItems=1
	Brokers []string `json:"brokers"`
	Topic   string   `json:"topic"`
	// Mode is binary (default: attributes in ce_ headers, data as the
	// value) or structured (the whole event as JSON).
	// +kubebuilder:validation:Enum=binary;structured
	// +optional
	Mode string `json:"mode,omitempty"`
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`
	// +optional
	SASL *SASLConfig `json:"sasl,omitempty"`
}

// TLSConfig turns TLS on; files are paths in the activator's (or freshet
// dev's) filesystem, such as a mounted Secret.
type TLSConfig struct {
	// CAFile verifies the brokers; default the system's roots.
	// +optional
	CAFile string `json:"caFile,omitempty"`
	// CertFile and KeyFile are a client certificate, for mutual TLS.
	// +optional
	CertFile string `json:"certFile,omitempty"`
	// +optional
	KeyFile string `json:"keyFile,omitempty"`
	// InsecureSkipVerify skips verifying the brokers' certificates.
	// +optional
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// SASLConfig authenticates to Kafka.
type SASLConfig struct {
	// +kubebuilder:validation:Enum=PLAIN;SCRAM-SHA-256;SCRAM-SHA-512
	Mechanism string `json:"mechanism"`
	Username  string `json:"username"`
	// PasswordEnv names the environment variable (of the activator or
	// freshet dev) holding the password, such as one set from a Secret.
	PasswordEnv string `json:"passwordEnv"`
}

// SQSSource receives messages from an SQS queue with long polling and
// deletes each once it is durably buffered. Messages whose attributes
// carry CloudEvents attributes (ce_ prefixed, binary style) or whose body
// is a structured CloudEvent are read as those events; any other message
// is wrapped in an event of EventType and EventSource.
type SQSSource struct {
	// QueueURL of the queue.
	QueueURL string `json:"queueURL"`
	// Region of the queue; default from the environment (AWS_REGION).
	// +optional
	Region string `json:"region,omitempty"`
	// Endpoint overrides the SQS endpoint (an emulator, a VPC endpoint).
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// VisibilityTimeout is how long a received message stays hidden
	// before SQS delivers it again; it is extended while the message is
	// being buffered. Default 30s.
	// +optional
	VisibilityTimeout *metav1.Duration `json:"visibilityTimeout,omitempty"`
	// EventType of wrapped plain messages. Default dev.freshet.sqs.message.
	// +optional
	EventType string `json:"eventType,omitempty"`
	// EventSource of wrapped plain messages. Default the queue URL.
	// +optional
	EventSource string `json:"eventSource,omitempty"`
}

// SQSSink sends each event as a message (attributes as ce_ message
// attributes, data as the body) with SendMessageBatch.
type SQSSink struct {
	QueueURL string `json:"queueURL"`
	// +optional
	Region string `json:"region,omitempty"`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
}

// PulsarSource consumes messages from Pulsar topics on one subscription
// per vertex. Messages whose properties carry CloudEvents attributes (ce_
// prefixed, binary style) or whose payload is a structured CloudEvent
// (content-type application/cloudevents+json) are read as those events;
// any other message is wrapped in an event of EventType and EventSource,
// its key kept in the partitionkey extension. A message is acknowledged
// only once it is durably buffered, and negatively acknowledged (the
// broker delivers it again) when it cannot be.
type PulsarSource struct {
	// ServiceURL is the broker's binary protocol URL:
	// pulsar://host:6650, or pulsar+ssl://host:6651 for TLS.
	// +kubebuilder:validation:Pattern=`^pulsar(\+ssl)?://`
	ServiceURL string `json:"serviceURL"`
	// AdminURL is the broker's web service, read for the subscription's
	// backlog (topic stats). Default http://<host>:8080 for pulsar://,
	// https://<host>:8443 for pulsar+ssl:// (Pulsar's default ports).
	// +optional
	AdminURL string `json:"adminURL,omitempty"`
	// Topics are read together: names such as my-topic (in
	// public/default) or persistent://tenant/namespace/topic.
	// Partitioned topics are read on every partition.
	// +kubebuilder:validation:MinItems=1
	Topics []string `json:"topics"`
	// Subscription defaults to freshet.<namespace>.<pipeline>.<vertex>.
	// +optional
	Subscription string `json:"subscription,omitempty"`
	// SubscriptionType is Shared (default: messages spread over every
	// router reading the subscription), Key_Shared (messages of one key
	// go to one router at a time) or Failover (one router reads each
	// partition).
	// +kubebuilder:validation:Enum=Shared;Key_Shared;Failover
	// +optional
	SubscriptionType string `json:"subscriptionType,omitempty"`
	// InitialPosition is where a new subscription starts: earliest
	// (default: nothing already in the topic is skipped) or latest.
	// +kubebuilder:validation:Enum=earliest;latest
	// +optional
	InitialPosition string `json:"initialPosition,omitempty"`
	// EventType of wrapped plain messages. Default dev.freshet.pulsar.message.
	// +optional
	EventType string `json:"eventType,omitempty"`
	// EventSource of wrapped plain messages. Default /pulsar/<topic>.
	// +optional
	EventSource string `json:"eventSource,omitempty"`
	// +optional
	Auth *PulsarAuth `json:"auth,omitempty"`
	// TLS verifies the broker (CAFile, InsecureSkipVerify) on a
	// pulsar+ssl:// URL; CertFile and KeyFile authenticate with a client
	// certificate (Pulsar's TLS authentication).
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`
}

// PulsarSink produces each event as a message, CloudEvents attributes as
// ce_ properties (or the whole event as JSON in structured mode), keyed by
// its partitionkey extension; an event is done once the broker confirmed
// it.
type PulsarSink struct {
	// ServiceURL is the broker's binary protocol URL.
	// +kubebuilder:validation:Pattern=`^pulsar(\+ssl)?://`
	ServiceURL string `json:"serviceURL"`
	// Topic is a name such as my-topic or persistent://tenant/ns/topic.
	// +kubebuilder:validation:MinLength=1
	Topic string `json:"topic"`
	// Mode is binary (default: attributes in ce_ properties, data as the
	// payload) or structured (the whole event as JSON).
	// +kubebuilder:validation:Enum=binary;structured
	// +optional
	Mode string `json:"mode,omitempty"`
	// +optional
	Auth *PulsarAuth `json:"auth,omitempty"`
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`
}

// PulsarAuth authenticates to Pulsar with a token (JWT): exactly one of
// TokenEnv and TokenFile. A client certificate (TLS authentication) is
// given in tls instead.
//
// +kubebuilder:validation:XValidation:rule="has(self.tokenEnv) != has(self.tokenFile)",message="auth is exactly one of tokenEnv or tokenFile"
type PulsarAuth struct {
	// TokenEnv names the environment variable (of the activator or
	// freshet dev) holding the token, such as one set from a Secret.
	// +optional
	TokenEnv string `json:"tokenEnv,omitempty"`
	// TokenFile is a path holding the token, such as a mounted Secret;
	// it is read again on every connection, so a rotated token is used.
	// +optional
	TokenFile string `json:"tokenFile,omitempty"`
}
