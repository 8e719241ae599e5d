package jetstream

import (
	"errors"
	"time"
)

// Config configures a Store. The zero value of every field except DataDir
// (or URL) selects its default.
type Config struct {
	// URL is the address of an external NATS server or cluster with
	// JetStream enabled, e.g. "nats://nats.freshet-system:4222". Empty
	// starts an embedded, in-process server that stores under DataDir.
	URL string

	// DataDir is the embedded server's file-store directory. Required when
	// URL is empty; ignored otherwise. Reopening the same DataDir recovers
	// every buffer, its messages and its consumer state.
	DataDir string

	// AckWait is how long a delivery may stay neither acked nor nacked
	// before it is redelivered. InProgress restarts it. Default 30s.
	AckWait time.Duration

	// DedupWindow is how long a written Message.ID is remembered: a second
	// write of the same ID inside it is dropped. Default 2m.
	DedupWindow time.Duration

	// SyncAlways makes the embedded server fsync every write before
	// acknowledging it, so that written messages survive power loss and
	// kernel crashes. Default false: Write returns once the data is in the
	// operating system's page cache, which survives a crash or SIGKILL of
	// this process but not of the machine, and is many times faster.
	// Ignored for an external server (that server's own setting applies).
	SyncAlways bool

	// MaxAckPending bounds the deliveries of one buffer that are handed
	// out and not yet acked; the server stops delivering when it is
	// reached. Default 4096.
	MaxAckPending int

	// Prefetch is ignored. Readers used to keep this many messages fetched
	// ahead of Read calls, whose AckWait ran out while a slow caller had
	// not read them yet; Read now fetches only what it is asked for.
	//
	// Deprecated: has no effect.
	Prefetch int

	// Replicas is the number of copies of each buffer's stream on an
	// external JetStream cluster. Default 1; must be 1 when embedded.
	Replicas int
}

// Defaults of Config, applied by Open to zero fields.
const (
	DefaultAckWait       = 30 * time.Second
	DefaultDedupWindow   = 2 * time.Minute
	DefaultMaxAckPending = 4096
	DefaultReplicas      = 1
)

// publishWindow bounds the asynchronous publishes in flight per Store; the
// client panics or stalls without a bound.
const publishWindow = 4096

// withDefaults returns cfg with zero fields set to their defaults, or an
// error if cfg cannot work.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.DedupWindow <= 0 {
		cfg.DedupWindow = DefaultDedupWindow
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = DefaultMaxAckPending
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = DefaultReplicas
	}
	if cfg.URL == "" {
		if cfg.DataDir == "" {
			return cfg, errors.New("jetstream buffer: DataDir is required for the embedded server")
		}
		if cfg.Replicas != 1 {
			return cfg, errors.New("jetstream buffer: Replicas must be 1 for the embedded server")
		}
	}
	return cfg, nil
}

// EmbeddedMaxPayload is the largest message the embedded server takes
// (8 MiB, above the NATS default of 1 MiB, so events up to Freshet's default
// 4 MiB body limit fit with room for their attributes).
const EmbeddedMaxPayload = 8 << 20
