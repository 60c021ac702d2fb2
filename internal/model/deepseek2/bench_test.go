package deepseek2

import (
	"context"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"os"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// BenchmarkDecode measures single-token decode steps after a 16-token
// prompt, on the tiny golden model and, when SPUTNIK_BENCH_MODEL names a
// deepseek2 GGUF (e.g. mkgguf.py preset bench-deepseek2-moe), on that one.
// ns/op is the time per token.
func BenchmarkDecode(b *testing.B) {
	paths := map[string]string{"tiny": testutil.SharedFile(b, tinyModel)}
	if p := os.Getenv("SPUTNIK_BENCH_MODEL"); p != "" {
		paths["bench"] = p
	}
	for name, path := range paths {
		b.Run(name, func(b *testing.B) {
			m := openModel(b, path)
			st := m.NewState(16 + b.N + 8)
			seq, err := kvcache.NewSeq(m.Info().KVLayout, 16+b.N+8)
			if err != nil {
				b.Fatal(err)
			}
			var bt model.Batch
			for i := range 16 {
				bt.Add(seq, int32(100+i), i == 15)
			}
			logits := make([]float32, m.Info().VocabSize)
			if err := m.Forward(context.Background(), st, &bt, logits); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bt.Reset()
				bt.Add(seq, int32(200+i%100), true)
				if err := m.Forward(context.Background(), st, &bt, logits); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// BenchmarkPrefill measures a 512-token prompt into an empty cache (one
// batch); ns/op is per prompt. Set SPUTNIK_BENCH_MODEL as for
// BenchmarkDecode; without it only the tiny model runs.
func BenchmarkPrefill(b *testing.B) {
	paths := map[string]string{"tiny": testutil.SharedFile(b, tinyModel)}
	if p := os.Getenv("SPUTNIK_BENCH_MODEL"); p != "" {
		paths["bench"] = p
	}
	const n = 512
	for name, path := range paths {
		b.Run(name, func(b *testing.B) {
			m := openModel(b, path)
			logits := make([]float32, m.Info().VocabSize)
			var bt model.Batch
			for i := 0; i < b.N; i++ {
				st := m.NewState(n)
				seq, err := kvcache.NewSeq(m.Info().KVLayout, n)
				if err != nil {
					b.Fatal(err)
				}
				bt.Reset()
				for j := range n {
					bt.Add(seq, int32(100+j*7%5000), j == n-1)
				}
				if err := m.Forward(context.Background(), st, &bt, logits); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
