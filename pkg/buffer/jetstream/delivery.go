package jetstream

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	js "github.com/nats-io/nats.go/jetstream"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// delivery is one read message. Ack is synchronous (the server confirms
// it), so Pending no longer counts the message when Ack returns.
type delivery struct {
	msg     js.Msg
	attempt int
	settled atomic.Bool
}

var _ buffer.Delivery = (*delivery)(nil)

func newDelivery(m js.Msg) (*delivery, error) {
	meta, err := m.Metadata()
	if err != nil {
		_ = m.Nak()
		return nil, fmt.Errorf("message metadata: %w", err)
	}
	return &delivery{msg: m, attempt: int(meta.NumDelivered)}, nil
}

func (d *delivery) Message() buffer.Message {
	return buffer.Message{ID: d.msg.Headers().Get(js.MsgIDHeader), Data: d.msg.Data()}
}

// Attempt is the server's delivery count of the message, starting at 1.
func (d *delivery) Attempt() int { return d.attempt }

// Ack removes the message and waits for the server to confirm it.
func (d *delivery) Ack(ctx context.Context) error {
	if !d.settled.CompareAndSwap(false, true) {
		return nil
	}
	if err := d.msg.DoubleAck(ctx); err != nil {
		d.settled.Store(false) // let the caller retry
		return fmt.Errorf("ack %s: %w", d.msg.Subject(), err)
	}
	return nil
}

// Nack asks for redelivery after delay. It does not wait for the server:
// the message stays pending either way.
func (d *delivery) Nack(_ context.Context, delay time.Duration) error {
	if !d.settled.CompareAndSwap(false, true) {
		return nil
	}
	var err error
	if delay > 0 {
		err = d.msg.NakWithDelay(delay)
	} else {
		err = d.msg.Nak()
	}
	if err != nil {
		d.settled.Store(false) // let the caller retry
		return fmt.Errorf("nack %s: %w", d.msg.Subject(), err)
	}
	return nil
}

// InProgress restarts the message's AckWait; ignored once settled.
func (d *delivery) InProgress(_ context.Context) error {
	if d.settled.Load() {
		return nil
	}
	if err := d.msg.InProgress(); err != nil {
		return fmt.Errorf("in progress %s: %w", d.msg.Subject(), err)
	}
	return nil
}
