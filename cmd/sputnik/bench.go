package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// runBench measures prefill and decode throughput the way llama-bench (and
// ../shared/tools/peer/bench.mjs) does: pp N = N tokens into an empty cache
// in batches of up to 512; tg N = N single-token decode steps, each computing
// logits and taking the argmax. One warm-up, then reps timed runs.
func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	modelPath := modelFlag(fs, "model GGUF file (required)")
	pp := fs.Int("pp", 512, "prompt tokens to prefill (0 = skip)")
	tg := fs.Int("tg", 128, "tokens to decode (0 = skip)")
	reps := fs.Int("reps", 3, "timed repetitions after one warm-up")
	threads := threadsFlag(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this file")
	streams := fs.String("streams", "", "instead of pp/tg: concurrent greedy streams through the serving engine, e.g. 1,4,16,64 (as the peer's batch.mjs)")
	streamPrompt := fs.Int("prompt", 128, "with --streams: prompt tokens per stream")
	prefix := fs.Int("prefix", 0, "with --streams: also time the first token of a request whose N-token system prompt is cached vs not")
	random := fs.Bool("random", false, "decode random tokens (as llama-bench) instead of each step's argmax (as the peer's bench.mjs): varies MoE routing")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: sputnik bench -m MODEL.gguf [--pp N] [--tg N] [--reps R] [-t THREADS] [--random] [--json]")
		fmt.Fprintln(fs.Output(), "       sputnik bench -m MODEL.gguf --streams 1,4,16 [--prompt N] [--tg N] [--prefix N]")
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *modelPath == "":
		return missingModel("bench")
	case len(pos) > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	case *pp < 0:
		return usageError{fmt.Sprintf("--pp %d: want the prompt tokens to prefill, ≥ 0 (0 skips the prefill test)", *pp)}
	case *tg < 0:
		return usageError{fmt.Sprintf("--tg %d: want the tokens to decode, ≥ 0 (0 skips the decode test)", *tg)}
	case *pp == 0 && *tg == 0 && *streams == "":
		return usageError{"--pp 0 and --tg 0: nothing to measure"}
	case *reps < 1:
		return usageError{fmt.Sprintf("--reps %d: want at least 1 timed repetition", *reps)}
	case *streamPrompt < 1 || *prefix < 0:
		return usageError{"--prompt must be positive and --prefix ≥ 0"}
	}
	if err := checkThreads(*threads); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loading %s…\n", *modelPath)
	lm, err := loadModel(*modelPath, *threads, stderr)
	if err != nil {
		return err
	}
	defer lm.f.Close()
	info := lm.m.Info()
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := make([]int32, max(*pp, *tg, 1))
	for i := range tokens {
		tokens[i] = int32(rng.IntN(info.VocabSize))
	}
	if *streams != "" {
		counts, err := parseCounts(*streams)
		if err != nil {
			return usageError{err.Error()}
		}
		rows, err := benchStreams(lm, counts, *streamPrompt, *tg, stderr)
		if err != nil {
			return err
		}
		out := map[string]any{"model": *modelPath, "threads": parallel.Threads(), "streams": rows}
		if *prefix > 0 {
			pr, err := benchPrefix(lm, *prefix, stderr)
			if err != nil {
				return err
			}
			out["prefix"] = pr
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(out)
		}
		fmt.Fprintf(stdout, "model %s, %d threads, prompt %d, tg %d\n", *modelPath, parallel.Threads(), *streamPrompt, *tg)
		fmt.Fprintf(stdout, "%8s %14s %16s %14s %12s\n", "streams", "aggregate t/s", "decode-phase t/s", "TTFT mean ms", "TTFT max ms")
		for _, r := range rows {
			fmt.Fprintf(stdout, "%8d %14.2f %16.2f %14.1f %12.1f\n", r.Streams, r.AggregateTokS, r.DecodePhaseTokS, r.TTFTMeanMs, r.TTFTMaxMs)
		}
		return nil
	}
	logits := make([]float32, info.VocabSize)
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	type result struct {
		Test   string    `json:"test"`
		Tokens int       `json:"tokens"`
		TokS   []float64 `json:"tok_s"`
		Median float64   `json:"median_tok_s"`
		// MajorFaults counts the page faults that read the disk during
		// the timed runs: weights paged in when the model does not fit
		// in the memory the process may use.
		MajorFaults int64 `json:"major_faults"`
	}
	var results []result
	measure := func(name string, n int, run func() error) error {
		r := result{Test: fmt.Sprintf("%s %d", name, n), Tokens: n}
		var faults0 int64
		for i := 0; i <= *reps; i++ {
			if i == 1 {
				faults0 = majorFaults()
			}
			fmt.Fprintf(stderr, "\r%s: run %d/%d", r.Test, i, *reps)
			start := time.Now()
			if err := run(); err != nil {
				return err
			}
			if i > 0 { // the first run warms up
				r.TokS = append(r.TokS, float64(n)/time.Since(start).Seconds())
			}
		}
		s := slices.Clone(r.TokS)
		slices.Sort(s)
		r.MajorFaults = majorFaults() - faults0
		r.Median = s[len(s)/2]
		if len(s)%2 == 0 {
			r.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
		fmt.Fprintf(stderr, "\r%s: %.2f tok/s (median of %d)\n", r.Test, r.Median, *reps)
		results = append(results, r)
		return nil
	}
	if *pp > 0 {
		err := measure("pp", *pp, func() error {
			st := lm.m.NewState(*pp + 1)
			seq, err := kvcache.NewSeq(lm.m.Info().KVLayout, *pp+1)
			if err != nil {
				return err
			}
			var b model.Batch
			for i, t := range tokens[:*pp] {
				b.Add(seq, t, i == *pp-1)
			}
			return lm.m.Forward(context.Background(), st, &b, logits)
		})
		if err != nil {
			return err
		}
	}
	if *tg > 0 {
		err := measure("tg", *tg, func() error {
			st := lm.m.NewState(*tg + 1)
			seq, err := kvcache.NewSeq(lm.m.Info().KVLayout, *tg+1)
			if err != nil {
				return err
			}
			var b model.Batch
			tok := tokens[0]
			for i := range *tg {
				b.Reset()
				b.Add(seq, tok, true)
				if err := lm.m.Forward(context.Background(), st, &b, logits); err != nil {
					return err
				}
				tok = int32(argmax(logits))
				if *random {
					tok = tokens[(i+1)%len(tokens)]
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"model": *modelPath, "threads": parallel.Threads(), "results": results,
			"peak_rss_bytes": peakRSS(),
		})
	}
	fmt.Fprintf(stdout, "model %s, %d threads\n", *modelPath, parallel.Threads())
	for _, r := range results {
		fmt.Fprintf(stdout, "%-8s %10.2f tok/s", r.Test, r.Median)
		if r.MajorFaults > 0 {
			fmt.Fprintf(stdout, "  (%d major page faults: weights read from disk)", r.MajorFaults)
		}
		fmt.Fprintln(stdout)
	}
	if rss := peakRSS(); rss > 0 {
		fmt.Fprintf(stdout, "peak RSS %.0f MiB (mapped weights count only while resident)\n", float64(rss)/(1<<20))
	}
	return nil
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
