package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/sysmem"
)

// runBench measures prefill and decode throughput the way llama-bench (and
// ../shared/tools/peer/bench.mjs) does: pp N = N tokens into an empty cache
// in batches of up to 512; tg N = N single-token decode steps, each computing
// logits and taking the argmax. One warm-up, then reps timed runs. It takes
// llama-bench's flags (-p, -n, -r, -t, -o; comma lists, one table row per
// combination) besides its own (--pp, --tg, --reps, --threads, --json), and
// prints llama-bench's markdown table unless asked for JSON.
func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	modelPath := modelFlag(fs, "model GGUF file (required)")
	pp := intList{v: []int{512}}
	fs.Var(&pp, "pp", "prompt tokens to prefill, a comma list (0 = skip)")
	fs.Var(&pp, "p", "same as --pp (llama-bench's -p, --n-prompt)")
	fs.Var(&pp, "n-prompt", "same as --pp")
	tg := intList{v: []int{128}}
	fs.Var(&tg, "tg", "tokens to decode, a comma list (0 = skip)")
	fs.Var(&tg, "n", "same as --tg (llama-bench's -n, --n-gen)")
	fs.Var(&tg, "n-gen", "same as --tg")
	reps := fs.Int("reps", 3, "timed repetitions after one warm-up")
	fs.IntVar(reps, "r", 3, "same as --reps (llama-bench's -r)")
	fs.IntVar(reps, "repetitions", 3, "same as --reps")
	threads := intList{v: []int{0}}
	fs.Var(&threads, "t", "threads, a comma list (0 = all cores)")
	fs.Var(&threads, "threads", "same as -t")
	asJSON := fs.Bool("json", false, "print one JSON object (same as -o json)")
	output := fs.String("o", "md", "output format: md (llama-bench's markdown table) or json")
	fs.StringVar(output, "output", "md", "same as -o")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the runs (or of the streams) to this file")
	streams := fs.String("streams", "", "instead of pp/tg: concurrent greedy streams through the serving engine, e.g. 1,4,16,64 (as the peer's batch.mjs)")
	streamPrompt := fs.Int("prompt", 128, "with --streams: prompt tokens per stream")
	prefix := fs.Int("prefix", 0, "with --streams: also time the first token of a request whose N-token system prompt is cached vs not")
	random := fs.Bool("random", false, "decode random tokens (as llama-bench) instead of each step's argmax (as the peer's bench.mjs): varies MoE routing")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: sputnik bench -m MODEL.gguf [-p N,...] [-n N,...] [-r R] [-t THREADS,...] [--random] [-o md|json]")
		fmt.Fprintln(fs.Output(), "       sputnik bench -m MODEL.gguf --streams 1,4,16 [--prompt N] [--tg N] [--prefix N]")
		fmt.Fprintln(fs.Output(), "\nllama-bench's flags and table: every combination of thread count and test is a row,")
		fmt.Fprintln(fs.Output(), "t/s is the mean ± the standard deviation of the timed runs.")
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *asJSON {
		*output = "json"
	}
	switch {
	case *modelPath == "":
		return missingModel("bench")
	case len(pos) > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	case *output != "md" && *output != "json":
		return usageError{fmt.Sprintf("-o %s: want md (llama-bench's markdown table) or json", *output)}
	case *reps < 1:
		return usageError{fmt.Sprintf("--reps %d: want at least 1 timed repetition", *reps)}
	case *streamPrompt < 1 || *prefix < 0:
		return usageError{"--prompt must be positive and --prefix ≥ 0"}
	case *streams != "" && len(threads.v) > 1:
		return usageError{"--streams takes one thread count (-t N)"}
	}
	for _, n := range pp.v {
		if n < 0 {
			return usageError{fmt.Sprintf("-p/--pp %d: want the prompt tokens to prefill, ≥ 0 (0 skips the prefill test)", n)}
		}
	}
	for _, n := range tg.v {
		if n < 0 {
			return usageError{fmt.Sprintf("-n/--tg %d: want the tokens to decode, ≥ 0 (0 skips the decode test)", n)}
		}
	}
	if slices.Max(pp.v) == 0 && slices.Max(tg.v) == 0 && *streams == "" {
		return usageError{"--pp 0 and --tg 0: nothing to measure"}
	}
	for _, t := range threads.v {
		if err := checkThreads(t); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "loading %s…\n", *modelPath)
	lm, err := loadModel(*modelPath, threads.v[0], stderr)
	if err != nil {
		return err
	}
	defer lm.f.Close()
	info := lm.m.Info()
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := make([]int32, max(slices.Max(pp.v), slices.Max(tg.v), 1))
	for i := range tokens {
		tokens[i] = int32(rng.IntN(info.VocabSize))
	}
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
	if *streams != "" {
		counts, err := parseCounts(*streams)
		if err != nil {
			return usageError{err.Error()}
		}
		rows, err := benchStreams(lm, counts, *streamPrompt, tg.v[0], stderr)
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
		if *output == "json" {
			return json.NewEncoder(stdout).Encode(out)
		}
		fmt.Fprintf(stdout, "model %s, %d threads, prompt %d, tg %d\n", *modelPath, parallel.Threads(), *streamPrompt, tg.v[0])
		fmt.Fprintf(stdout, "%8s %14s %16s %14s %12s\n", "streams", "aggregate t/s", "decode-phase t/s", "TTFT mean ms", "TTFT max ms")
		for _, r := range rows {
			fmt.Fprintf(stdout, "%8d %14.2f %16.2f %14.1f %12.1f\n", r.Streams, r.AggregateTokS, r.DecodePhaseTokS, r.TTFTMeanMs, r.TTFTMaxMs)
		}
		return nil
	}
	logits := make([]float32, info.VocabSize)

	prefill := func(n int) error {
		st := lm.m.NewState(n + 1)
		seq, err := kvcache.NewSeq(info.KVLayout, n+1)
		if err != nil {
			return err
		}
		var b model.Batch
		for i, t := range tokens[:n] {
			b.Add(seq, t, i == n-1)
		}
		return lm.m.Forward(context.Background(), st, &b, logits)
	}
	decode := func(n int) error {
		st := lm.m.NewState(n + 1)
		seq, err := kvcache.NewSeq(info.KVLayout, n+1)
		if err != nil {
			return err
		}
		var b model.Batch
		tok := tokens[0]
		for i := range n {
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
	}
	var results []benchResult
	bwm := &bandwidthMeter{huge: lm.interleaved > 0}
	defer bwm.close()
	// llama-bench's order: per thread count, the prompt tests, then the
	// generation tests.
	for _, t := range threads.v {
		parallel.SetThreads(t)
		nt := parallel.Threads()
		for _, test := range []struct {
			kind string
			ns   []int
			run  func(int) error
		}{{"pp", pp.v, prefill}, {"tg", tg.v, decode}} {
			for _, n := range test.ns {
				if n == 0 {
					continue
				}
				var before float64
				if test.kind == "tg" {
					before = bwm.measure(nt, stderr)
				}
				r, err := benchRuns(test.kind, n, nt, *reps, stderr, func() error { return test.run(n) })
				if err != nil {
					return err
				}
				if test.kind == "tg" {
					// The machine's bandwidth drifts with its neighbours'
					// load: the higher of the figures just before and
					// just after the runs is the ceiling they had.
					r.ReadGBs = max(before, bwm.measure(nt, stderr))
				}
				results = append(results, r)
			}
		}
	}
	roof := benchRoofline(lm, results)
	rss := peakRSS() // includes the bandwidth test's buffer when tg ran
	facts := readCPUFacts()
	if *output == "json" {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"model": *modelPath, "threads": parallel.Threads(), "results": results,
			"peak_rss_bytes": rss, "cpu": facts, "build": versionString(),
		})
	}
	writeBenchTable(stdout, facts, benchModelOf(lm.f), results)
	if roof != "" {
		fmt.Fprintf(stdout, "\n%s", roof)
	}
	fmt.Fprintf(stdout, "\nbuild: %s\n", versionString())
	if rss > 0 {
		extra := ""
		if bwm.mem != nil || roof != "" {
			extra = "; it includes the 128 MiB buffer of the bandwidth test"
		}
		fmt.Fprintf(stdout, "peak RSS %.0f MiB (mapped weights count only while resident%s)\n", float64(rss)/(1<<20), extra)
	}
	return nil
}

// benchResult is one row of the bench table: one test at one thread count.
type benchResult struct {
	Test    string    `json:"test"` // "pp 512", "tg 128"
	Tokens  int       `json:"tokens"`
	Threads int       `json:"threads"`
	TokS    []float64 `json:"tok_s"` // each timed run
	Median  float64   `json:"median_tok_s"`
	Mean    float64   `json:"mean_tok_s"`
	Stddev  float64   `json:"stddev_tok_s"` // sample standard deviation (0 for one run)
	// ReadGBs is the memory read bandwidth measured on as many threads
	// (tg only; kernel.ReadBandwidth), and Roofline the mean rate as a
	// fraction of the rate that bandwidth allows: WeightBytes read per
	// token (decodeBytes).
	ReadGBs     float64 `json:"read_gb_s,omitempty"`
	WeightBytes int64   `json:"weight_bytes_per_token,omitempty"`
	Roofline    float64 `json:"roofline_fraction,omitempty"`
	// MajorFaults counts the page faults that read the disk during
	// the timed runs: weights paged in when the model does not fit
	// in the memory the process may use.
	MajorFaults int64 `json:"major_faults"`
}

// benchRuns times run once to warm up and then reps times; n tokens each.
func benchRuns(kind string, n, threads, reps int, stderr io.Writer, run func() error) (benchResult, error) {
	r := benchResult{Test: fmt.Sprintf("%s %d", kind, n), Tokens: n, Threads: threads}
	var faults0 int64
	for i := 0; i <= reps; i++ {
		if i == 1 {
			faults0 = majorFaults()
		}
		fmt.Fprintf(stderr, "\r%s, %d threads: run %d/%d", r.Test, threads, i, reps)
		start := time.Now()
		if err := run(); err != nil {
			return r, err
		}
		if i > 0 { // the first run warms up
			r.TokS = append(r.TokS, float64(n)/time.Since(start).Seconds())
		}
	}
	r.MajorFaults = majorFaults() - faults0
	r.Median, r.Mean, r.Stddev = summarizeRuns(r.TokS)
	fmt.Fprintf(stderr, "\r%s, %d threads: %.2f ± %.2f tok/s (mean of %d)\n", r.Test, threads, r.Mean, r.Stddev, reps)
	return r, nil
}

// summarizeRuns returns the median, the mean and the sample standard
// deviation of xs (len(xs) ≥ 1).
func summarizeRuns(xs []float64) (median, mean, stddev float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	median = s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	for _, x := range s {
		mean += x
	}
	mean /= float64(len(s))
	if len(s) > 1 {
		var ss float64
		for _, x := range s {
			ss += (x - mean) * (x - mean)
		}
		stddev = math.Sqrt(ss / float64(len(s)-1))
	}
	return median, mean, stddev
}

// benchModel is what the table says about the model file.
type benchModel struct {
	desc   string // "qwen2 1.5B Q4_K_M": architecture, size label, file type
	bytes  uint64 // tensor bytes
	params uint64
}

// benchModelOf describes f as llama-bench's model, size and params columns
// do (the file type keeps Sputnik's spelling, Q4_K_M for "Q4_K - Medium").
func benchModelOf(f *gguf.File) benchModel {
	s := summarize(f)
	var m benchModel
	for _, c := range s.hist {
		m.bytes += c.bytes
	}
	m.params = s.params
	size, _ := f.String("general.size_label")
	if size == "" {
		size = humanCount(s.params)
	}
	ft := s.fileType
	if ft == "" {
		ft = "?"
	}
	m.desc = strings.Join([]string{orDash(s.arch), size, ft}, " ")
	return m
}

// writeBenchTable prints the CPU header and llama-bench's markdown table:
// model, size, params, backend, threads, test, t/s (mean ± stddev).
func writeBenchTable(w io.Writer, c cpuFacts, m benchModel, results []benchResult) {
	fmt.Fprintln(w, c)
	fmt.Fprintln(w)
	params := fmt.Sprintf("%.2f M", float64(m.params)/1e6)
	if m.params >= 1e9 {
		params = fmt.Sprintf("%.2f B", float64(m.params)/1e9)
	}
	size := fmt.Sprintf("%.2f GiB", float64(m.bytes)/(1<<30))
	if m.bytes < 1<<30 {
		size = fmt.Sprintf("%.2f MiB", float64(m.bytes)/(1<<20))
	}
	fmt.Fprintf(w, "| %-30s | %10s | %10s | %-10s | %7s | %13s | %20s |\n", "model", "size", "params", "backend", "threads", "test", "t/s")
	fmt.Fprintf(w, "| %s | %s: | %s: | %s | %s: | %s: | %s: |\n",
		strings.Repeat("-", 30), strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 10),
		strings.Repeat("-", 6), strings.Repeat("-", 12), strings.Repeat("-", 19))
	for _, r := range results {
		test := strings.ReplaceAll(r.Test, " ", "")
		fmt.Fprintf(w, "| %-30s | %10s | %10s | %-10s | %7d | %13s | %20s |\n",
			m.desc, size, params, "CPU", r.Threads, test, fmt.Sprintf("%.2f ± %.2f", r.Mean, r.Stddev))
	}
	for _, r := range results {
		if r.MajorFaults > 0 {
			fmt.Fprintf(w, "\n%s, %d threads: %d major page faults (weights read from disk)", strings.ReplaceAll(r.Test, " ", ""), r.Threads, r.MajorFaults)
		}
	}
}

// intList is a flag holding a comma-separated list of integers, as
// llama-bench's list flags: the first use replaces the default, later uses
// append.
type intList struct {
	v   []int
	set bool // v no longer holds the default
}

func (l *intList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(l.v))
	for i, v := range l.v {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	var vals []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("want a comma list of integers such as 128,512")
		}
		vals = append(vals, n)
	}
	if !l.set {
		l.v, l.set = nil, true
	}
	l.v = append(l.v, vals...)
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

// decodeBytes returns the bytes of weights one decoded token reads from
// f: every tensor, but the token embeddings only when they double as the
// output head (otherwise one row per token), and the routed experts of a
// MoE only in the share the router picks (expert_used_count of
// expert_count, on average). note names the MoE share, if any.
func decodeBytes(f *gguf.File) (bytes int64, note string) {
	_, hasOutput := f.Tensor("output.weight")
	arch := f.Architecture()
	used, _ := f.Int(arch + ".expert_used_count")
	count, _ := f.Int(arch + ".expert_count")
	for _, t := range f.Tensors {
		size := int64(t.Size)
		switch {
		case t.Name == "token_embd.weight" && hasOutput:
			continue
		case strings.Contains(t.Name, "_exps.") && count > 0 && used > 0:
			size = size * used / count
			note = fmt.Sprintf(" (%d of %d routed experts)", used, count)
		}
		bytes += size
	}
	return bytes, note
}

// benchRoofline fills the WeightBytes and Roofline of the tg results (whose
// ReadGBs the runs measured) and returns the lines the table ends with (""
// without tg results).
func benchRoofline(lm *loaded, results []benchResult) string {
	bytes, note := decodeBytes(lm.f)
	pages := "the file mapping's pages"
	if lm.interleaved > 0 {
		pages = "2 MiB pages where Linux allows, as the interleaved weights"
	}
	var b strings.Builder
	for i := range results {
		r := &results[i]
		if !strings.HasPrefix(r.Test, "tg") || bytes == 0 || r.ReadGBs <= 0 {
			continue
		}
		r.WeightBytes = bytes
		limit := r.ReadGBs * 1e9 / float64(bytes)
		r.Roofline = r.Mean / limit
		fmt.Fprintf(&b, "%s, %d threads: %.2f tok/s = %.0f%% of the roofline %.2f tok/s (%.2f GB of weights per token%s; read bandwidth %.1f GB/s, the higher of the measurements just before and after the runs, on %s)\n",
			strings.ReplaceAll(r.Test, " ", ""), r.Threads, r.Mean, 100*r.Roofline, limit, float64(bytes)/1e9, note, r.ReadGBs, pages)
	}
	return b.String()
}

// bandwidthMeter measures the read bandwidth for the roofline of the tg
// tests, on a buffer allocated once (benchMemory).
type bandwidthMeter struct {
	huge bool
	mem  []byte
	free func() error
}

func (m *bandwidthMeter) measure(threads int, stderr io.Writer) float64 {
	if m.mem == nil {
		m.mem, m.free = benchMemory(m.huge)
	}
	fmt.Fprintf(stderr, "measuring the read bandwidth on %d threads…\n", threads)
	return kernel.ReadBandwidth(m.mem, threads)
}

func (m *bandwidthMeter) close() {
	if m.free != nil {
		m.free()
		m.mem, m.free = nil, nil
	}
}

// benchMemory returns 128 MiB, four times the largest L3 of a core complex
// here, written end to end, on
// huge pages (sysmem.AllocHuge, as the interleaved weights) or the heap's,
// for the read bandwidth test, and the function that frees it.
func benchMemory(huge bool) ([]byte, func() error) {
	const n = 128 << 20
	mem, free := make([]byte, n), func() error { return nil }
	if huge {
		if m, f, err := sysmem.AllocHuge(n); err == nil {
			mem, free = m, f
		}
	}
	for i := 0; i < n; i += 4096 {
		mem[i] = byte(i >> 12)
	}
	return mem, free
}
