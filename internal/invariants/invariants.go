// Package invariants holds expensive internal consistency checks that cost
// nothing unless the binary is built with -tags invariants (the pattern of
// pebble's internal/invariants). Each check is guarded by Enabled, a
// constant, so that without the tag the compiler removes it:
//
//	if invariants.Enabled {
//		invariants.Finite("l_out", layer, x)
//	}
//
// `make invariants` runs the tests with the tag; `make race`, which CI
// runs, uses it together with -race.
package invariants

import (
	"fmt"
	"math"
)

// Finite panics if x holds a NaN or an infinity, naming what (an
// intermediate, as a trace hook names it), the layer (-1 for none) and the
// first offending index. A check failing means a bug: a kernel, a weight
// loader or a forward pass produced a value no later step can recover from.
func Finite(what string, layer int, x []float32) {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			panic(fmt.Sprintf("invariants: %s of layer %d: element %d of %d is %v", what, layer, i, len(x), v))
		}
	}
}
