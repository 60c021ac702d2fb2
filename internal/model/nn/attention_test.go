package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
)

// attnOnePair is one (token, head) pair's attention with the single-query
// kernels, page by page (Forward's arithmetic before the multi-query
// kernels): the reference Forward must match bit for bit.
func attnOnePair(a *Attention, o, qIn []float32, layer, pos int, s *kvcache.Seq, h int) {
	hd, vd := a.HeadDim, a.ValueDim
	kw, vw := a.NKVHeads*hd, a.NKVHeads*vd
	kvh := h / (a.NHeads / a.NKVHeads)
	q := append([]float32(nil), qIn...)
	kernel.RoundF16(q)
	n, bt := pos+1, s.PageTokens()
	scores := make([]float32, n)
	for p0 := 0; p0 < n; p0 += bt {
		kernel.DotsF16(scores[p0:min(p0+bt, n)], q, s.KeyPage(layer, p0/bt)[kvh*hd:], kw, a.Scale)
	}
	kernel.SoftmaxF16(scores)
	clear(o)
	for p0 := 0; p0 < n; p0 += bt {
		kernel.AddWeightedSumF16(o, scores[p0:min(p0+bt, n)], s.ValuePage(layer, p0/bt)[kvh*vd:], vw)
	}
}

// TestAttentionSameBits checks that Forward gives every (token, head) pair
// bit for bit its single-query result, whatever the batch: prefill chunks
// (tokens of a sequence sharing rows, across page boundaries, positions
// not contiguous), decode batches (heads split across tasks), sequences
// interleaved in the batch, and head sizes the SIMD kernels do and do not
// step through.
func TestAttentionSameBits(t *testing.T) {
	for _, sh := range []struct{ nHeads, nKV, hd, vd int }{
		{12, 2, 32, 32}, // Qwen2-like group of 6
		{4, 4, 16, 16},  // MHA
		{16, 2, 24, 40}, // group of 8, head sizes off the 16-element steps
		{6, 1, 64, 48},
	} {
		a := &Attention{NHeads: sh.nHeads, NKVHeads: sh.nKV, HeadDim: sh.hd, ValueDim: sh.vd, Scale: DefaultScale(sh.hd)}
		const capacity = 80
		rng := rand.New(rand.NewPCG(uint64(sh.nHeads), uint64(sh.hd)))
		layout := kvcache.Layout{Layers: 1, KeyWidth: sh.nKV * sh.hd, ValueWidth: sh.nKV * sh.vd}
		var seqs [3]*kvcache.Seq
		for i := range seqs {
			s, err := kvcache.NewSeq(layout, capacity)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Reserve(capacity); err != nil {
				t.Fatal(err)
			}
			// fill every position's keys and values
			k, v := randomVec(rng, capacity*layout.KeyWidth), randomVec(rng, capacity*layout.ValueWidth)
			pos := make([]int32, capacity)
			ss := make([]*kvcache.Seq, capacity)
			for p := range pos {
				pos[p], ss[p] = int32(p), s
			}
			a.Store(0, k, v, pos, ss)
			seqs[i] = s
		}
		// a scratch for longer contexts takes fewer queries per task
		// (AttnMaxQueries 4: groups of 6 and 8 heads split)
		scs := []*AttnScratch{a.NewAttnScratch(capacity), a.NewAttnScratch(1 << 17)}
		type tok struct {
			seq int
			pos int32
		}
		check := func(name string, maxQ int, out, q []float32, pos []int32, ss []*kvcache.Seq) {
			n := len(pos)
			want := make([]float32, sh.vd)
			for i := range n {
				for h := range sh.nHeads {
					attnOnePair(a, want, q[(i*sh.nHeads+h)*sh.hd:(i*sh.nHeads+h+1)*sh.hd], 0, int(pos[i]), ss[i], h)
					got := out[(i*sh.nHeads+h)*sh.vd : (i*sh.nHeads+h+1)*sh.vd]
					for j := range want {
						if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
							t.Fatalf("%v %s maxQ=%d: token %d (pos %d) head %d [%d] = %v, want %v (single query)", sh, name, maxQ, i, pos[i], h, j, got[j], want[j])
						}
					}
				}
			}
		}
		run := func(name string, batch []tok) {
			n := len(batch)
			q := randomVec(rng, n*sh.nHeads*sh.hd)
			pos := make([]int32, n)
			ss := make([]*kvcache.Seq, n)
			for i, b := range batch {
				pos[i], ss[i] = b.pos, seqs[b.seq]
			}
			for _, sc := range scs {
				out := make([]float32, n*sh.nHeads*sh.vd)
				a.Forward(out, q, 0, pos, ss, sc)
				check(name, sc.maxQ, out, q, pos, ss)
			}
		}
		var prefill []tok
		for p := int32(5); p < 42; p++ {
			prefill = append(prefill, tok{0, p})
		}
		run("prefill", prefill)
		run("decode", []tok{{0, 41}, {1, 20}, {2, 0}})
		run("decode one", []tok{{1, 79}})
		mixed := []tok{{1, 20}, {0, 3}, {0, 4}, {0, 9}, {0, 7}, {2, 15}, {2, 16}, {2, 17}, {0, 30}, {1, 63}, {1, 64}}
		run("mixed", mixed)
		var long []tok
		for p := int32(0); p < capacity; p++ {
			long = append(long, tok{2, p})
		}
		run(fmt.Sprintf("whole %d", capacity), long)
	}
}

func randomVec(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}
