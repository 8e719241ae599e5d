package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// drainTimeout bounds how long closing a reader waits for the Reads in
// flight to finish or hand back what they fetched, and then for the server
// to confirm that it took the messages back.
const drainTimeout = 5 * time.Second

// gatherWait is the expiry of a pull request for the messages already
// stored. The request is a no_wait one (see pullNoWait): the server
// delivers what is stored at once and then ends the request, so a Read
// does not wait for more than there are. Only when nothing was stored does
// it stay open, until gatherWait, for the first message (or, at
// MaxAckPending, until gatherWait however many it got). It is also the
// shortest wait of any Read that finds nothing.
const gatherWait = 5 * time.Millisecond

// handBackNak is the nak sent for each message a Read fetched but cannot
// hand out (its context ended, or the buffer is closing). A plain "-NAK"
// only queues the message for redelivery in the server's memory: the
// consumer's stored state keeps the original delivery time, so after a
// restart of the server (the embedded one shuts down with the Store) the
// message only comes back once its AckWait has run out. A nak with a delay
// makes the server rewrite that time in the stored state, as if the
// AckWait had run out already; 1ns is the smallest delay it accepts.
var handBackNak = []byte(`-NAK {"delay": 1}`)

// reader fetches messages on demand: each Read makes pull requests for at
// most the messages it was asked for, so nothing is delivered by the
// server and held by the buffer between Reads, and no message's AckWait
// runs before Read hands it out (see the buffer package's rules).
//
// Every pull request has an expiry, which the server answers with a
// timeout status, so the library's fetch goroutine only stops listening
// once the server has ended the request: no message is ever delivered to
// an inbox nobody reads; pullNoWait's requests have one too. (FetchNoWait
// has no expiry: when the server holds
// its request back, e.g. at MaxAckPending, the library gives up after 1s
// and a later delivery to it would be lost until its AckWait ran out.)
type reader struct {
	consumer js.Consumer
	nc       *nats.Conn
	next     string        // the consumer's pull request subject
	done     chan struct{} // closed when the reader stops

	mu       sync.Mutex
	stopping bool
	// active counts the Reads in flight and the hand-backs of requests
	// they abandoned.
	active sync.WaitGroup
}

// startReader returns the buffer's reader, starting it if needed.
func (b *Buffer) startReader() (*reader, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, buffer.ErrClosed
	}
	if b.reader == nil {
		b.reader = &reader{
			consumer: b.consumer,
			nc:       b.store.nc,
			next:     nextSubjectPrefix + streamPrefix + b.name + "." + consumerName,
			done:     make(chan struct{}),
		}
	}
	return b.reader, nil
}

// begin registers a Read; false once the reader is stopping.
func (r *reader) begin() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return false
	}
	r.active.Add(1)
	return true
}

// stop makes the Reads in flight hand back what they fetched and waits for
// them to finish, and for the server to confirm the hand-backs, for at
// most drainTimeout.
func (r *reader) stop() {
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		return
	}
	r.stopping = true
	close(r.done)
	r.mu.Unlock()
	idle := make(chan struct{})
	go func() {
		r.active.Wait()
		close(idle)
	}()
	deadline := time.NewTimer(drainTimeout)
	defer deadline.Stop()
	select {
	case <-idle:
	case <-deadline.C:
	}
}

func (r *reader) stopped() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// fetch makes one pull request for up to n messages, which the server ends
// after wait at the latest, and returns what it delivered. A noWait
// request (see pullNoWait) ends as soon as the server has delivered what
// it has, once it has delivered any; otherwise the request only ends early
// when it has all n. If ctx ends or
// the reader stops first, fetch returns at once, and a goroutine keeps
// reading the request's messages to its end and hands them all back. The
// caller must be a registered Read.
func (r *reader) fetch(ctx context.Context, n int, wait time.Duration, noWait bool) ([]js.Msg, error) {
	var batch js.MessageBatch
	var err error
	if noWait {
		batch, err = r.pullNoWait(n, wait)
	} else {
		batch, err = r.consumer.Fetch(n, js.FetchMaxWait(wait))
	}
	if err != nil {
		return nil, err
	}
	var got []js.Msg
	msgs := batch.Messages()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				if err := batch.Error(); err != nil && len(got) == 0 {
					return nil, err
				}
				// Messages delivered before an error are good: return
				// them; the error shows again on the next request.
				return got, nil
			}
			got = append(got, m)
			continue
		case <-ctx.Done():
			err = ctx.Err()
		case <-r.done:
			err = buffer.ErrClosed
		}
		r.active.Add(1) // the caller's registration keeps active above 0
		go func() {
			defer r.active.Done()
			for m := range msgs {
				got = append(got, m)
			}
			_ = handBack(r.nc, got, drainTimeout)
		}()
		return nil, err
	}
}

// handBack naks msgs with handBackNak, pipelined, and waits until the
// server has confirmed every nak, for at most timeout.
func handBack(nc *nats.Conn, msgs []js.Msg, timeout time.Duration) error {
	if len(msgs) == 0 {
		return nil
	}
	confirmed := make(chan *nats.Msg, len(msgs))
	inbox := nc.NewInbox()
	sub, err := nc.ChanSubscribe(inbox, confirmed)
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	for _, m := range msgs {
		if err := nc.PublishRequest(m.Reply(), inbox, handBackNak); err != nil {
			return err
		}
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for range msgs {
		select {
		case <-confirmed:
		case <-deadline.C:
			return errors.New("hand back: timed out")
		}
	}
	return nil
}

// closeReader stops the reader, if one runs.
func (b *Buffer) closeReader() {
	b.mu.Lock()
	r := b.reader
	b.reader = nil
	b.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

// Read asks the server for up to max messages and returns those it
// delivers, waiting up to maxWait (at least gatherWait) for the first; it
// returns no messages and no error when none arrived. It makes up to three
// pull requests: one for what is stored now; if that finds nothing, one for
// a single message, open for the rest of maxWait; and once that one
// arrives, if its metadata says more are stored, one for those. The first
// and the last are no_wait requests, which the server ends as soon as it
// has delivered what it has.
func (b *Buffer) Read(ctx context.Context, max int, maxWait time.Duration) ([]buffer.Delivery, error) {
	if max < 1 {
		return nil, fmt.Errorf("jetstream buffer %s: read: max %d < 1", b.name, max)
	}
	r, err := b.startReader()
	if err == nil && !r.begin() {
		err = buffer.ErrClosed
	}
	if err != nil {
		return nil, fmt.Errorf("jetstream buffer %s: read: %w", b.name, err)
	}
	defer r.active.Done()

	msgs, err := r.fetch(ctx, max, gatherWait, true)
	if err == nil && len(msgs) == 0 && maxWait > gatherWait {
		msgs, err = r.fetch(ctx, 1, maxWait-gatherWait, false)
		if err == nil && len(msgs) == 1 && max > 1 && morePending(msgs[0]) {
			var more []js.Msg
			// On an error, return the one message; the error shows
			// again on the next Read (unless the buffer is closing).
			if more, err = r.fetch(ctx, max-1, gatherWait, true); err == nil || !errors.Is(err, buffer.ErrClosed) {
				msgs, err = append(msgs, more...), nil
			}
		}
	}
	if err == nil && r.stopped() {
		err = buffer.ErrClosed
	}
	if err != nil {
		// Only messages of a finished request may be left here.
		_ = handBack(r.nc, msgs, drainTimeout)
		return nil, fmt.Errorf("jetstream buffer %s: read: %w", b.name, err)
	}
	ds, err := deliveries(msgs)
	if err != nil {
		return nil, fmt.Errorf("jetstream buffer %s: read: %w", b.name, err)
	}
	return ds, nil
}

// morePending reports whether m's delivery said that more messages were
// stored for the consumer, not delivered yet. A Read that waited for its
// first message only asks for more when there are: a request made when
// there are none would wait out its expiry. It leaves out redeliveries
// that are due; the next Read takes them at once.
func morePending(m js.Msg) bool {
	meta, err := m.Metadata()
	return err != nil || meta.NumPending > 0
}

// deliveries wraps msgs. A message without metadata, which JetStream never
// delivers, is nacked and left out; Read only fails if all of them are.
func deliveries(msgs []js.Msg) ([]buffer.Delivery, error) {
	out := make([]buffer.Delivery, 0, len(msgs))
	var errs []error
	for _, m := range msgs {
		d, err := newDelivery(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, d)
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
