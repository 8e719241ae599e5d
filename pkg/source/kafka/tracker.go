package kafka

import "sort"

// partition follows the records of one assigned partition from read to
// commit. Its commit point only moves past records that are all acked, so
// acks may come in any order (rule 4) and a record read but never acked
// is read again by whoever owns the partition next (rule 2).
//
// franz-go returns a partition's records in ascending offsets (offsets
// may skip: compaction, transaction markers), so pending stays sorted.
type partition struct {
	topic string
	id    int32

	pending []pendingRecord // read, the commit point not yet past them
	last    int64           // highest offset read, -1 before the first
	ready   position        // the commit point: everything below is acked
	sent    int64           // the last commit point the broker took, -1 none
	gone    bool            // revoked or lost: its acks no longer count
}

// pendingRecord is one record read and not yet passed by the commit point.
type pendingRecord struct {
	offset int64
	epoch  int32
	acked  bool
}

// position is a commit point: the next offset to read, and the leader
// epoch of the record before it (-1 unknown), as Kafka commits them.
type position struct {
	offset int64
	epoch  int32
}

func newPartition(topic string, id int32) *partition {
	return &partition{topic: topic, id: id, last: -1, ready: position{-1, -1}, sent: -1}
}

// read records that offset was read; false if it was read before (a
// rewind), in which case it is not delivered again: it is either still
// pending or already acked.
func (p *partition) read(offset int64, epoch int32) bool {
	if offset <= p.last {
		return false
	}
	p.last = offset
	p.pending = append(p.pending, pendingRecord{offset: offset, epoch: epoch})
	return true
}

// ack marks offset acked and moves the commit point past the acked records
// at the head. Acking an offset not pending (acked and committed past
// already) does nothing.
func (p *partition) ack(offset int64) {
	i := sort.Search(len(p.pending), func(i int) bool { return p.pending[i].offset >= offset })
	if i == len(p.pending) || p.pending[i].offset != offset {
		return
	}
	p.pending[i].acked = true
	n := 0
	for n < len(p.pending) && p.pending[n].acked {
		n++
	}
	if n == 0 {
		return
	}
	head := p.pending[n-1]
	p.ready = position{offset: head.offset + 1, epoch: head.epoch}
	p.pending = p.pending[n:]
}

// toCommit returns the commit point if it moved since the last commit.
func (p *partition) toCommit() (position, bool) {
	return p.ready, p.ready.offset > p.sent
}

// committed records that the broker took the commit point at offset.
func (p *partition) committed(offset int64) {
	p.sent = max(p.sent, offset)
}
