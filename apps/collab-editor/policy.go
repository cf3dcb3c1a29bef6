package main

import "time"

// Policy is a document's compaction schedule and limits. The zero value of every
// field means its default.
type Policy struct {
	// The log is merged into the snapshot after CompactQuiet without updates, at
	// most CompactMax after the first update since the last compaction, and at
	// once when it grows past CompactBytes or CompactRows. Defaults 2 s, 10 s,
	// 512 KiB, 5000.
	CompactQuiet time.Duration
	CompactMax   time.Duration
	CompactBytes int64
	CompactRows  int64

	// AwarenessTimeout is how long a client's awareness state lives without
	// renewal before the server removes it and tells the others (y-protocols'
	// outdatedTimeout; clients renew every half of it). Default 30 s.
	AwarenessTimeout time.Duration

	// MaxDocumentBytes and MaxDocumentStructs bound a document's merged state:
	// an update that would take it past either is refused (its socket closed
	// with 4413). Defaults 4 MiB (a late joiner's catch-up is one frame of at
	// most that, within a socket's 8 MiB send queue) and 256 Ki structs.
	MaxDocumentBytes   int
	MaxDocumentStructs int

	// UpdateRate and UpdateBurst bound the update bytes one socket sends (a
	// token bucket; each update also costs updateOverhead): beyond them the
	// socket is closed with 4429, and its client sends what the server missed
	// when it reconnects. Defaults 256 KiB a second, 2 MiB.
	UpdateRate  int
	UpdateBurst int

	// CatchUpRate and CatchUpBurst bound the catch-up bytes (sync step 2
	// answers) one client address gets from one document: a socket that asks
	// beyond them is closed with 4429 (its client retries later). A socket that
	// never reads holds its catch-up until its pings time out, so this bounds
	// what non-reading joiners from one address make the server hold. Defaults
	// 1 MiB a second, 2 * MaxDocumentBytes.
	CatchUpRate  int
	CatchUpBurst int

	// TextSteps bounds the work of reading a document's text on the server
	// (GET text: yupdate.Text's budget, about 25 ns a step). Default 10 M.
	TextSteps int
}

// updateOverhead is what each update costs in a socket's byte bucket on top of
// its length, so that tiny updates are bounded in number too.
const updateOverhead = 512

// Sync step 1 requests (each answered with the whole missing state) of one
// socket: a burst, then one per syncInterval.
const (
	syncBurst    = 5
	syncInterval = 2 * time.Second
)

func (p Policy) withDefaults() Policy {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur(&p.CompactQuiet, 2*time.Second)
	defDur(&p.CompactMax, 10*time.Second)
	def(&p.CompactBytes, 512<<10)
	def(&p.CompactRows, 5000)
	defDur(&p.AwarenessTimeout, awarenessStale)
	defInt(&p.MaxDocumentBytes, 4<<20)
	defInt(&p.MaxDocumentStructs, 256<<10)
	defInt(&p.UpdateRate, 256<<10)
	defInt(&p.UpdateBurst, 2<<20)
	defInt(&p.CatchUpRate, 1<<20)
	defInt(&p.CatchUpBurst, 2*p.MaxDocumentBytes)
	defInt(&p.TextSteps, 10_000_000)
	return p
}
