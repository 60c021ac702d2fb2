package tensor

import (
	"encoding/binary"
	"math/bits"
	"os"
	"path/filepath"
	"testing"
)

// gridTables returns the generated codebooks by ggml type id, each as
// [entries][width] bytes (element j of entry i at i*width+j).
func gridTables() map[uint32][]byte {
	out := map[uint32][]byte{}
	put64 := func(id uint32, g []uint64) {
		for _, v := range g {
			out[id] = binary.LittleEndian.AppendUint64(out[id], v)
		}
	}
	put32 := func(id uint32, g []uint32) {
		for _, v := range g {
			out[id] = binary.LittleEndian.AppendUint32(out[id], v)
		}
	}
	put64(uint32(IQ2_XXS), GridIQ2_XXS[:])
	put64(uint32(IQ2_XS), GridIQ2_XS[:])
	put64(uint32(IQ2_S), GridIQ2_S[:])
	put32(uint32(IQ3_XXS), GridIQ3_XXS[:])
	put32(uint32(IQ3_S), GridIQ3_S[:])
	put64(uint32(IQ1_S), GridIQ1_S[:])
	return out
}

// TestGridsMatchOracle checks iq_grids.go against testdata/ggml/iqgrids.bin,
// the codebooks read back from ggml's dequantizers by oracle.c: a stale or
// hand-edited iq_grids.go fails here (regenerate with go generate).
func TestGridsMatchOracle(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "ggml", "iqgrids.bin"))
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{b: b}
	if string(r.bytes(4)) != "GGIG" || r.u32() != 1 {
		t.Fatal("iqgrids.bin: bad header")
	}
	mine := gridTables()
	n := int(r.u32())
	if n != len(mine) {
		t.Errorf("iqgrids.bin holds %d tables, iq_grids.go %d", n, len(mine))
	}
	for range n {
		id, entries, width := r.u32(), int(r.u32()), int(r.u32())
		want := r.bytes(entries * width)
		if r.err {
			t.Fatal("iqgrids.bin: truncated")
		}
		got, ok := mine[id]
		if !ok {
			t.Errorf("no table for type id %d", id)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%v: %d bytes, oracle %d", DType(id), len(got), len(want))
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%v: entry %d element %d = %d, oracle %d (run go generate)", DType(id), i/width, i%width, got[i], want[i])
				break
			}
		}
	}
	if len(r.b) != 0 {
		t.Error("iqgrids.bin: trailing bytes")
	}
}

// TestGridProperties checks what the type definitions promise of each
// codebook: distinct entries, magnitudes from the type's level set.
func TestGridProperties(t *testing.T) {
	levels := map[DType][]int{
		IQ2_XXS: {8, 25, 43}, IQ2_XS: {8, 25, 43}, IQ2_S: {8, 25, 43},
		IQ3_XXS: {4, 12, 20, 28, 36, 44, 52, 62}, IQ3_S: {1, 3, 5, 7, 9, 11, 13, 15},
		IQ1_S: {-1, 0, 1},
	}
	width := map[DType]int{IQ3_XXS: 4, IQ3_S: 4}
	for id, tab := range gridTables() {
		typ := DType(id)
		w := width[typ]
		if w == 0 {
			w = 8
		}
		ok := map[int]bool{}
		for _, l := range levels[typ] {
			ok[l] = true
		}
		seen := map[string]bool{}
		for i := 0; i < len(tab)/w; i++ {
			e := tab[i*w : (i+1)*w]
			if seen[string(e)] {
				t.Errorf("%v: entry %d repeats an earlier one", typ, i)
			}
			seen[string(e)] = true
			for j, c := range e {
				v := int(c)
				if typ == IQ1_S {
					v = int(int8(c))
				}
				if !ok[v] {
					t.Errorf("%v: entry %d element %d = %d, not a level of the type", typ, i, j, v)
				}
			}
		}
	}
}

func TestSignsIQ2(t *testing.T) {
	for i, s := range signsIQ2 {
		if int(s&127) != i || bits.OnesCount8(s)%2 != 0 {
			t.Errorf("signsIQ2[%d] = %08b: want low bits %07b and an even number of set bits", i, s, i)
		}
	}
}
