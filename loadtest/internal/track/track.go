// Package track accounts for one receiver's view of one sender's sequence
// numbers: unique deliveries, duplicates, reordering and, given the number
// sent, loss. A Seq is owned by one goroutine and allocates nothing.
package track

// Window is how far below the highest sequence number seen a late arrival
// can still be told apart from a duplicate.
const Window = 256

// Result of observing one sequence number.
type Result uint8

const (
	New       Result = iota // first arrival, in order (possibly after a gap)
	Reordered               // first arrival, after a higher number
	Duplicate               // seen before
	Stale                   // below the receiver's start, or too late to tell (counted as Late)
)

// Seq tracks the sequence numbers one receiver got from one sender.
// The zero value expects sequence numbers from 0.
type Seq struct {
	base uint64 // first sequence number this receiver should get
	next uint64 // highest seen + 1, or base
	win  [Window / 64]uint64

	Unique    uint64 // first arrivals, including reordered ones
	Dups      uint64 // repeated arrivals
	Reordered uint64 // first arrivals below the highest seen
	Late      uint64 // arrivals too old to classify, or sent before the receiver joined
	Secondary uint64 // secondary frames about already-delivered messages
}

// Start resets s to expect sequence numbers from base on.
func (s *Seq) Start(base uint64) { *s = Seq{base: base, next: base} }

// Base returns the first sequence number the receiver should get.
func (s *Seq) Base() uint64 { return s.base }

func (s *Seq) bit(q uint64) (word int, mask uint64) {
	i := q % Window
	return int(i / 64), 1 << (i % 64)
}

// Observe records the arrival of sequence number q. A secondary arrival
// counts as a delivery if it is the first for q, and otherwise only in
// Secondary.
func (s *Seq) Observe(q uint64, secondary bool) Result {
	switch {
	case q < s.base:
		s.Late++
		return Stale
	case q >= s.next:
		if q-s.next >= Window {
			s.win = [Window / 64]uint64{}
		} else {
			for x := s.next; x < q; x++ { // clear slots the window slides over
				w, m := s.bit(x)
				s.win[w] &^= m
			}
		}
		w, m := s.bit(q)
		s.win[w] |= m
		s.next = q + 1
		s.Unique++
		return New
	case s.next-q > Window:
		s.Late++
		return Stale
	}
	w, m := s.bit(q)
	if s.win[w]&m != 0 {
		if secondary {
			s.Secondary++
		} else {
			s.Dups++
		}
		return Duplicate
	}
	s.win[w] |= m
	s.Unique++
	s.Reordered++
	return Reordered
}

// Lost returns how many of the messages with sequence numbers below sent
// never arrived (never negative).
func (s *Seq) Lost(sent uint64) uint64 {
	if sent <= s.base {
		return 0
	}
	exp := sent - s.base
	got := s.Unique + s.Late
	if got >= exp {
		return 0
	}
	return exp - got
}
