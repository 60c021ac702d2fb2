//go:build !purego

package kernel

import "testing"

// TestXposePlans checks what TestXposeSameBytes cannot see: that no
// operation of a plan reads outside its block (the last row's last block
// ends the matrix), and that every type with an interleaved layout has a
// plan.
func TestXposePlans(t *testing.T) {
	for _, typ := range interTypes {
		pl := xposePlans[typ]
		if pl == nil {
			t.Fatalf("%s: no plan", typ)
		}
		wb := typ.TypeSize()
		for i, op := range pl.ops {
			n := 16
			if op.word != 0 {
				n = 2
			}
			k := 0 // the op's block in the step
			if i >= pl.first {
				k = 1
			}
			if lo, hi := int(op.from), int(op.from)+n; lo < k*wb || hi > (k+1)*wb {
				t.Errorf("%s: op %d reads [%d, %d), outside block %d's [%d, %d)", typ, i, lo, hi, k, k*wb, (k+1)*wb)
			}
		}
	}
}
