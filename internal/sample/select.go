package sample

import (
	"math/bits"
	"slices"
)

// candidate is one token under consideration.
type candidate struct {
	logit float32 // penalized; NaN already replaced by -Inf
	id    int32
	p     float32 // unnormalized probability at the current stage
}

// better orders candidates by logit, highest first, then by id, lowest
// first. It is a strict total order (ids are distinct and logits never NaN),
// which is what makes ties resolve toward the lower id at every stage.
func better(a, b *candidate) bool {
	return a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
}

func compare(a, b candidate) int {
	switch {
	case better(&a, &b):
		return -1
	case better(&b, &a):
		return 1
	}
	return 0
}

// budget is the number of partition rounds selectTop and cutMass may spend
// on n candidates before falling back to sorting, which bounds the worst case
// at O(n log n) (introselect). Random-like data needs about log2(n) rounds.
func budget(n int) int { return 2*bits.Len(uint(n)) + 4 }

// partition reorders c around a median-of-three pivot and returns its final
// index p: c[:p] are better than c[p], c[p+1:] are worse. len(c) >= 2.
func partition(c []candidate) int {
	lo, mid, hi := 0, len(c)/2, len(c)-1
	// Order c[lo], c[mid], c[hi] best first, then park the median at hi.
	if better(&c[mid], &c[lo]) {
		c[mid], c[lo] = c[lo], c[mid]
	}
	if better(&c[hi], &c[lo]) {
		c[hi], c[lo] = c[lo], c[hi]
	}
	if better(&c[hi], &c[mid]) {
		c[hi], c[mid] = c[mid], c[hi]
	}
	c[mid], c[hi] = c[hi], c[mid]
	pivot := c[hi]
	i := 0
	for j := 0; j < hi; j++ {
		if better(&c[j], &pivot) {
			c[i], c[j] = c[j], c[i]
			i++
		}
	}
	c[i], c[hi] = c[hi], c[i]
	return i
}

// selectTop reorders c so that c[:k] are its k best candidates (in no
// particular order), 0 < k < len(c), in expected O(len(c)) time (quickselect).
// After rounds partition rounds it sorts what is left instead.
func selectTop(c []candidate, k, rounds int) {
	lo, hi := 0, len(c)
	for hi-lo > 1 {
		if rounds == 0 {
			slices.SortFunc(c[lo:hi], compare)
			return
		}
		rounds--
		p := lo + partition(c[lo:hi])
		switch {
		case p == k || p == k-1:
			return
		case p > k:
			hi = p
		default:
			lo = p + 1
		}
	}
}

// cutMass reorders c and returns m such that c[:m] is the smallest set of
// best candidates whose weights c[i].p sum to at least target — the top-p
// nucleus — without sorting it: a quickselect that descends toward the
// candidate where the running mass crosses target. Expected O(len(c)). If the
// weights never reach target (rounding), it keeps everything. target > 0.
func cutMass(c []candidate, target float64, rounds int) int {
	// Invariant: c[:lo] are the lo best and weigh acc < target;
	// the cut lies in (lo, hi].
	lo, hi := 0, len(c)
	acc := 0.0
	for hi-lo > 1 {
		if rounds == 0 {
			slices.SortFunc(c[lo:hi], compare)
			for i := lo; i < hi; i++ {
				acc += float64(c[i].p)
				if acc >= target {
					return i + 1
				}
			}
			return hi
		}
		rounds--
		p := lo + partition(c[lo:hi])
		above := 0.0 // mass of c[lo:p], all better than the pivot
		for i := lo; i < p; i++ {
			above += float64(c[i].p)
		}
		if acc+above >= target {
			hi = p
			continue
		}
		acc += above
		if acc+float64(c[p].p) >= target {
			return p + 1
		}
		acc += float64(c[p].p)
		lo = p + 1
	}
	// One candidate left in [lo, hi): its position is final, and the cut is
	// at hi by the invariant.
	return hi
}

// heapUp and heapDown keep c a min-heap under better: every parent is worse
// than its children, so c[0] is the worst candidate held.
func heapUp(c []candidate, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !better(&c[parent], &c[i]) {
			return
		}
		c[i], c[parent] = c[parent], c[i]
		i = parent
	}
}

func heapDown(c []candidate, i int) {
	for {
		w := i
		if l := 2*i + 1; l < len(c) && better(&c[w], &c[l]) {
			w = l
		}
		if r := 2*i + 2; r < len(c) && better(&c[w], &c[r]) {
			w = r
		}
		if w == i {
			return
		}
		c[i], c[w] = c[w], c[i]
		i = w
	}
}
