package models_test

import (
	"context"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestInterleaveBudget checks what a budget copies: on a dense model, at
// most the budget and something; on a mixture of experts, never a routed
// expert while every other matrix is copied; everything without a budget.
// The logits stay those of the model read from the file, bit for bit.
func TestInterleaveBudget(t *testing.T) {
	for _, name := range []string{"qwen2-tiny-q8_0", "qwen2-tiny-f16", "deepseek2-tiny-q4_0"} {
		t.Run(name, func(t *testing.T) {
			path := testutil.SharedFile(t, "golden/models/"+name+".gguf")
			open := func() (model.Model, *gguf.File) {
				t.Setenv(models.InterleaveEnv, "off")
				m, f, err := models.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				return m, f
			}
			ref, _ := open()
			want := logits(t, ref)

			all, f := open()
			everything, err := models.InterleaveBudget(all, f, -1, nil)
			if err != nil || everything == 0 {
				t.Fatalf("InterleaveBudget(-1) copied %d bytes (%v)", everything, err)
			}
			if n, _ := models.InterleaveBudget(all, f, -1, nil); n != 0 {
				t.Errorf("a second InterleaveBudget copied %d bytes more", n)
			}
			same(t, "all copied", logits(t, all), want)

			part, f := open()
			budget := everything / 2
			got, err := models.InterleaveBudget(part, f, budget, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got == 0 || got > budget {
				t.Errorf("budget %d: copied %d bytes", budget, got)
			}
			same(t, "half copied", logits(t, part), want)

			moe, f := open()
			got, err = models.InterleaveBudget(moe, f, 1<<40, nil)
			if err != nil {
				t.Fatal(err)
			}
			routed := name == "deepseek2-tiny-q4_0"
			if routed && got >= everything || !routed && got != everything {
				t.Errorf("ample budget: copied %d of %d bytes (routed experts: %v)", got, everything, routed)
			}
		})
	}
}

// logits runs a short prompt and two decode steps through m.
func logits(t *testing.T, m model.Model) [][]float32 {
	t.Helper()
	st := m.NewState(32)
	seq, err := kvcache.NewSeq(m.Info().KVLayout, 32)
	if err != nil {
		t.Fatal(err)
	}
	var b model.Batch
	for k, id := range []int32{1, 5, 9, 20, 31, 7} {
		b.Add(seq, id, k == 5)
	}
	var all [][]float32
	for range 3 {
		out := make([]float32, m.Info().VocabSize)
		if err := m.Forward(context.Background(), st, &b, out); err != nil {
			t.Fatal(err)
		}
		all = append(all, out)
		best := 0
		for i, v := range out {
			if v > out[best] {
				best = i
			}
		}
		b.Reset()
		b.Add(seq, int32(best), true)
	}
	return all
}

func same(t *testing.T, what string, got, want [][]float32) {
	t.Helper()
	for s := range want {
		for i := range want[s] {
			if got[s][i] != want[s][i] {
				t.Fatalf("%s: step %d logit %d = %v, from the file %v", what, s, i, got[s][i], want[s][i])
			}
		}
	}
}
