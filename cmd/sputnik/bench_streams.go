package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sputnik-llm/sputnik/internal/engine"
)

// streamsResult is one row of `sputnik bench --streams`, with the fields of
// ../shared/tools/peer/batch.mjs.
type streamsResult struct {
	Streams          int     `json:"streams"`
	PromptTokens     int     `json:"prompt_tokens"`
	TGTokens         int     `json:"tg_tokens"`
	Generated        int     `json:"generated"`
	AggregateTokS    float64 `json:"aggregate_tok_s"`
	DecodePhaseTokS  float64 `json:"decode_phase_tok_s"`
	TTFTMeanMs       float64 `json:"ttft_ms_mean"`
	TTFTMaxMs        float64 `json:"ttft_ms_max"`
	WallMs           float64 `json:"wall_ms"`
	SteadyBatchSteps int64   `json:"steps"`
}

// parseCounts reads a comma-separated list of positive stream counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 1024 {
			return nil, fmt.Errorf("--streams: %q is not a count in [1, 1024]", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchStreams measures the serving engine with n concurrent greedy
// streams, as batch.mjs measures llama.cpp: every stream prefills prompt
// random tokens (distinct per stream: no prefix sharing) and decodes tg
// tokens; all start at once.
func benchStreams(lm *loaded, counts []int, prompt, tg int, stderr io.Writer) ([]streamsResult, error) {
	info := lm.m.Info()
	// Warm up: one request pages the weights in (llama.cpp reads them at
	// load), so that the first row does not time the disk.
	warm := make([]int32, prompt)
	wr := rand.New(rand.NewPCG(99, 7))
	for k := range warm {
		warm[k] = int32(wr.IntN(info.VocabSize))
	}
	if _, err := engine.Generate(context.Background(), lm.m, lm.tok, engine.Request{Prompt: warm, MaxTokens: 2, IgnoreEOS: true}, prompt+16, nil); err != nil {
		return nil, err
	}
	var out []streamsResult
	for _, n := range counts {
		e, err := engine.New(lm.m, lm.tok, engine.Options{Parallel: n, Context: prompt + tg + 16, Queue: n})
		if err != nil {
			return nil, err
		}
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		type per struct {
			first, end time.Time
			count      int
		}
		res := make([]per, n)
		fmt.Fprintf(stderr, "streams %d: running…", n)
		steps0 := e.Stats().Steps
		start := time.Now()
		var wg sync.WaitGroup
		var firstErr error
		var mu sync.Mutex
		for i := range n {
			p := make([]int32, prompt)
			for k := range p {
				p[k] = int32(rng.IntN(info.VocabSize))
			}
			if b := lm.tok.BOS(); b >= 0 && len(p) > 0 {
				p[0] = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := &res[i]
				_, err := engine.Run(context.Background(), e, engine.Request{Prompt: p, MaxTokens: tg, IgnoreEOS: true}, func(t engine.Token) error {
					if t.ID < 0 {
						return nil
					}
					if r.count == 0 {
						r.first = time.Now()
					}
					r.count++
					return nil
				})
				r.end = time.Now()
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		steps := e.Stats().Steps - steps0
		e.Close(context.Background())
		if firstErr != nil {
			return nil, firstErr
		}
		var end, allFirst time.Time
		total, after := 0, 0
		var ttftSum, ttftMax float64
		for _, r := range res {
			end = later(end, r.end)
			allFirst = later(allFirst, r.first)
			total += r.count
			after += r.count - 1
			ttft := float64(r.first.Sub(start).Microseconds()) / 1000
			ttftSum += ttft
			ttftMax = max(ttftMax, ttft)
		}
		wall := end.Sub(start).Seconds()
		row := streamsResult{
			Streams: n, PromptTokens: prompt, TGTokens: tg, Generated: total,
			AggregateTokS:   round2(float64(total) / wall),
			DecodePhaseTokS: round2(float64(after) / max(end.Sub(allFirst).Seconds(), 1e-9)),
			TTFTMeanMs:      round2(ttftSum / float64(n)), TTFTMaxMs: round2(ttftMax), WallMs: round2(wall * 1000),
			SteadyBatchSteps: steps,
		}
		fmt.Fprintf(stderr, "\rstreams %d: aggregate %.1f tok/s, decode phase %.1f tok/s, TTFT mean %.0f ms\n",
			n, row.AggregateTokS, row.DecodePhaseTokS, row.TTFTMeanMs)
		out = append(out, row)
	}
	return out, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// prefixResult is the time to first token of a request whose long system
// prompt is, or is not, already in the prefix cache.
type prefixResult struct {
	PrefixTokens  int     `json:"prefix_tokens"`
	ColdTTFTMs    float64 `json:"cold_ttft_ms"`
	CachedTTFTMs  float64 `json:"cached_ttft_ms"`
	CachedTokens  int     `json:"cached_tokens"`
	ColdPrefilled int     `json:"cold_prefilled"`
	WarmPrefilled int     `json:"cached_prefilled"`
}

// benchPrefix runs two requests that share a prefix-token system prompt
// and differ in a 16-token question: the first computes the whole prompt,
// the second finds the prefix in the cache.
func benchPrefix(lm *loaded, prefix int, stderr io.Writer) (prefixResult, error) {
	info := lm.m.Info()
	e, err := engine.New(lm.m, lm.tok, engine.Options{Parallel: 1, Context: prefix + 64})
	if err != nil {
		return prefixResult{}, err
	}
	defer e.Close(context.Background())
	rng := rand.New(rand.NewPCG(11, 13))
	sys := make([]int32, prefix)
	for i := range sys {
		sys[i] = int32(rng.IntN(info.VocabSize))
	}
	ttft := func() (float64, engine.Result, error) {
		p := append([]int32(nil), sys...)
		for range 16 {
			p = append(p, int32(rng.IntN(info.VocabSize)))
		}
		start := time.Now()
		var first time.Duration
		res, err := engine.Run(context.Background(), e, engine.Request{Prompt: p, MaxTokens: 1, IgnoreEOS: true}, func(engine.Token) error {
			if first == 0 {
				first = time.Since(start)
			}
			return nil
		})
		return float64(first.Microseconds()) / 1000, res, err
	}
	fmt.Fprintf(stderr, "prefix %d: cold…", prefix)
	cold, rc, err := ttft()
	if err != nil {
		return prefixResult{}, err
	}
	warm, rw, err := ttft()
	if err != nil {
		return prefixResult{}, err
	}
	fmt.Fprintf(stderr, "\rprefix %d: time to first token %.0f ms cold, %.0f ms with %d tokens cached\n", prefix, cold, warm, rw.CachedTokens)
	return prefixResult{PrefixTokens: prefix, ColdTTFTMs: round2(cold), CachedTTFTMs: round2(warm), CachedTokens: rw.CachedTokens,
		ColdPrefilled: rc.Timings.PrefillTokens, WarmPrefilled: rw.Timings.PrefillTokens}, nil
}
