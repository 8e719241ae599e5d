package jetstream

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
)

// nextSubjectPrefix is the JetStream API subject of pull requests; the
// stream and consumer names follow it.
const nextSubjectPrefix = "$JS.API.CONSUMER.MSG.NEXT."

// nextRequest is the body of a pull request.
type nextRequest struct {
	Batch   int           `json:"batch"`
	Expires time.Duration `json:"expires"`
	NoWait  bool          `json:"no_wait"`
}

// pullNoWait makes one pull request for up to n messages with no_wait AND
// an expiry, which the library's Fetch cannot send (FetchNoWait has no
// expiry). The server (processNextMsgRequest and processWaiting in
// nats-server's consumer.go) ends such a request:
//   - with 404 once it has delivered at least one message and has no more
//     to deliver, so a Read returns as soon as it has taken what is stored;
//   - with 408 at its expiry when it delivered none (it waits for the
//     first message that long), or when the consumer is at MaxAckPending
//     (the server does not end it early then);
//   - with 408 at once when fewer messages are pending than other pull
//     requests in the queue already asked for;
//   - with no status when it delivered n.
//
// So, like every request of the reader, it is bounded by its expiry on the
// server, and the returned batch ends only once the server has ended the
// request (or, as in the library, a second after the expiry).
func (r *reader) pullNoWait(n int, expires time.Duration) (js.MessageBatch, error) {
	body, err := json.Marshal(nextRequest{Batch: n, Expires: expires, NoWait: true})
	if err != nil {
		return nil, err
	}
	// Room for n messages and a few status messages: a full channel would
	// drop deliveries.
	in := make(chan *nats.Msg, n+8)
	inbox := r.nc.NewInbox()
	sub, err := r.nc.ChanSubscribe(inbox, in)
	if err != nil {
		return nil, err
	}
	if err := r.nc.PublishRequest(r.next, inbox, body); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	res := &rawBatch{msgs: make(chan js.Msg, n)}
	go func() {
		defer close(res.msgs)
		defer func() { _ = sub.Unsubscribe() }()
		timeout := time.NewTimer(expires + time.Second)
		defer timeout.Stop()
		for got := 0; got < n; {
			select {
			case m := <-in:
				if end, err := pullStatus(m); end || err != nil {
					res.setErr(err)
					return
				} else if isStatus(m) {
					continue
				}
				res.msgs <- &rawMsg{msg: m}
				got++
			case <-timeout.C:
				return
			}
		}
	}()
	return res, nil
}

// isStatus tells a status message of a pull request from a delivery, as
// the library does.
func isStatus(m *nats.Msg) bool {
	return len(m.Data) == 0 && m.Header.Get("Status") != ""
}

// pullStatus reports whether m is a status that ends the pull request, and
// the error it stands for. 404 (no more messages) and 408 (expired, or
// other requests pending) end it without error; 100 (heartbeat) does not
// end it.
func pullStatus(m *nats.Msg) (bool, error) {
	if !isStatus(m) {
		return false, nil
	}
	switch m.Header.Get("Status") {
	case "100":
		return false, nil
	case "404", "408":
		return true, nil
	case "503":
		return true, nats.ErrNoResponders
	default:
		return true, fmt.Errorf("pull request: %s %s", m.Header.Get("Status"), m.Header.Get("Description"))
	}
}

// rawBatch is the js.MessageBatch of pullNoWait.
type rawBatch struct {
	msgs chan js.Msg
	mu   sync.Mutex
	err  error
}

func (b *rawBatch) Messages() <-chan js.Msg { return b.msgs }

func (b *rawBatch) Error() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *rawBatch) setErr(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

// ackTimeout bounds DoubleAck when its context has no deadline, as the
// library's default timeout does.
const ackTimeout = 5 * time.Second

// rawMsg is a js.Msg for a message delivered to pullNoWait's inbox. It
// acks as the library's messages do, with the core client's JetStream
// methods of nats.Msg.
type rawMsg struct {
	msg *nats.Msg
}

var _ js.Msg = (*rawMsg)(nil)

func (m *rawMsg) Metadata() (*js.MsgMetadata, error) {
	md, err := m.msg.Metadata()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", js.ErrNotJSMessage, err)
	}
	return &js.MsgMetadata{
		Sequence:     js.SequencePair{Consumer: md.Sequence.Consumer, Stream: md.Sequence.Stream},
		NumDelivered: md.NumDelivered,
		NumPending:   md.NumPending,
		Timestamp:    md.Timestamp,
		Stream:       md.Stream,
		Consumer:     md.Consumer,
		Domain:       md.Domain,
	}, nil
}

func (m *rawMsg) Data() []byte         { return m.msg.Data }
func (m *rawMsg) Headers() nats.Header { return m.msg.Header }
func (m *rawMsg) Subject() string      { return m.msg.Subject }
func (m *rawMsg) Reply() string        { return m.msg.Reply }
func (m *rawMsg) Ack() error           { return m.msg.Ack() }
func (m *rawMsg) Nak() error           { return m.msg.Nak() }
func (m *rawMsg) InProgress() error    { return m.msg.InProgress() }
func (m *rawMsg) Term() error          { return m.msg.Term() }

func (m *rawMsg) NakWithDelay(delay time.Duration) error { return m.msg.NakWithDelay(delay) }

func (m *rawMsg) TermWithReason(reason string) error {
	return m.msg.Respond([]byte("+TERM " + reason))
}

func (m *rawMsg) DoubleAck(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ackTimeout)
		defer cancel()
	}
	return m.msg.AckSync(nats.Context(ctx))
}
