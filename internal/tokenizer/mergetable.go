package tokenizer

import "math/bits"

// mergeTable maps a pair of symbol ids to its merge (rank and product): an
// open-addressing hash table with linear probing over uint64 keys, at most
// half full. It is a few times faster than a Go map for this one lookup,
// which dominates BPE encoding.
type mergeTable struct {
	keys  []uint64 // left<<32 | right, or emptyKey
	vals  []uint64 // rank<<32 | product
	shift uint     // 64 - log2(len(keys))
}

const emptyKey = ^uint64(0) // no pair of valid ids packs to this

func newMergeTable(n int) *mergeTable {
	size := 16
	for size < 2*n {
		size *= 2
	}
	m := &mergeTable{
		keys:  make([]uint64, size),
		vals:  make([]uint64, size),
		shift: uint(64 - bits.TrailingZeros(uint(size))),
	}
	for i := range m.keys {
		m.keys[i] = emptyKey
	}
	return m
}

func (m *mergeTable) slot(key uint64) int {
	return int((key * 0x9E3779B97F4A7C15) >> m.shift)
}

// insert adds key unless present; it reports whether it did.
func (m *mergeTable) insert(key, val uint64) bool {
	mask := len(m.keys) - 1
	for i := m.slot(key); ; i = (i + 1) & mask {
		switch m.keys[i] {
		case emptyKey:
			m.keys[i], m.vals[i] = key, val
			return true
		case key:
			return false
		}
	}
}

func (m *mergeTable) get(key uint64) (uint64, bool) {
	mask := len(m.keys) - 1
	for i := m.slot(key); ; i = (i + 1) & mask {
		switch m.keys[i] {
		case key:
			return m.vals[i], true
		case emptyKey:
			return 0, false
		}
	}
}
