package yupdate

import (
	"cmp"
	"slices"

	"github.com/warrenhq/warren/apps/collab-editor/internal/lib0"
)

// StateVector returns, per client, the clock up to which u holds every struct
// from clock 0 on (Yjs' encodeStateVectorFromUpdate): what a peer that applied u
// is known to have.
func (u *Update) StateVector() map[uint64]uint64 {
	sv := map[uint64]uint64{}
	for _, rn := range u.runs {
		if rn.spans[0].clock != 0 {
			continue
		}
		var end uint32
		for _, s := range rn.spans {
			if s.ref() == refSkip {
				break
			}
			end = s.next()
		}
		sv[rn.client] = uint64(end)
	}
	return sv
}

// EncodeStateVector encodes sv (varuint n, then n pairs of varuint client and
// clock; higher clients first, as Yjs writes it).
func EncodeStateVector(sv map[uint64]uint64) []byte {
	clients := make([]uint64, 0, len(sv))
	for c := range sv {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, func(a, b uint64) int { return cmp.Compare(b, a) })
	b := lib0.AppendUint(nil, uint64(len(clients)))
	for _, c := range clients {
		b = lib0.AppendUint(lib0.AppendUint(b, c), sv[c])
	}
	return b
}

// DecodeStateVector decodes a state vector (a client listed twice: the last
// clock wins, as in Yjs).
func DecodeStateVector(b []byte) (map[uint64]uint64, error) {
	r := lib0.NewReader(b)
	n := r.Count()
	sv := make(map[uint64]uint64, n)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		c := r.Uint()
		sv[c] = r.Uint()
	}
	if r.Err() != nil {
		return nil, malformed("state vector")
	}
	return sv, nil
}

// Diff returns the part of u that a peer with state vector sv misses (Yjs'
// diffUpdate): per client, the structs from sv's clock on (the first one cut
// there), and the whole delete set. u must hold each client once (every parsed
// update does).
func (u *Update) Diff(sv map[uint64]uint64) []byte {
	var w builder
	for _, rn := range u.runs {
		have := sv[rn.client]
		i := 0
		for i < len(rn.spans) && (uint64(rn.spans[i].next()) <= have || rn.spans[i].ref() == refSkip) {
			i++
		}
		if i == len(rn.spans) {
			continue
		}
		first := rn.spans[i]
		from := uint32(max(uint64(first.clock), have))
		w.startClient(from)
		w.body = appendPart(w.body, rn.client, rn.src, first, from-first.clock, first.length, false)
		if rest := rn.spans[i+1:]; len(rest) > 0 {
			w.body = append(w.body, rn.src[rest[0].off:rest[len(rest)-1].end]...) // a run's structs are contiguous bytes
		}
		w.n += len(rn.spans) - i
		w.endClient(rn.client)
	}
	return w.bytes(u.ds)
}
