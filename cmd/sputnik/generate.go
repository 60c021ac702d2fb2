package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/sample"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// samplingFlags registers the sampler flags shared by generate and run.
type samplingFlags struct {
	temp, topP, minP, repeat, freq, presence float64
	topK, lastN                              int
	seed                                     uint64
}

func (s *samplingFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&s.temp, "temp", 0, "temperature (0 = greedy; R1 models default to 0.6)")
	fs.IntVar(&s.topK, "top-k", 0, "keep the K most likely tokens (0 = off)")
	fs.Float64Var(&s.topP, "top-p", 0, "nucleus sampling mass (0 or 1 = off; R1 models default to 0.95)")
	fs.Float64Var(&s.minP, "min-p", 0, "drop tokens below this fraction of the top probability (0 = off)")
	fs.Float64Var(&s.repeat, "repeat-penalty", 0, "repetition penalty (1 or 0 = off)")
	fs.Float64Var(&s.freq, "frequency-penalty", 0, "frequency penalty")
	fs.Float64Var(&s.presence, "presence-penalty", 0, "presence penalty")
	fs.IntVar(&s.lastN, "repeat-last-n", 64, "penalty window in tokens")
	fs.Uint64Var(&s.seed, "seed", 0, "random seed (same seed, same output)")
}

// options builds sampler options; R1 models get DeepSeek's recommended
// temperature and top-p when the user set neither.
func (s *samplingFlags) options(fs *flag.FlagSet, r1 bool) sample.Options {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	o := sample.Options{
		Temperature: float32(s.temp), TopK: s.topK, TopP: float32(s.topP), MinP: float32(s.minP),
		RepeatPenalty: float32(s.repeat), FrequencyPenalty: float32(s.freq), PresencePenalty: float32(s.presence),
		RepeatLastN: s.lastN, Seed: s.seed,
	}
	if r1 && !set["temp"] && !set["top-p"] {
		d := sample.R1Defaults()
		o.Temperature, o.TopP = d.Temperature, d.TopP
	}
	return o
}

// loaded is a model ready to generate.
type loaded struct {
	f    *gguf.File
	m    model.Model
	tok  *tokenizer.Tokenizer
	took time.Duration
}

// loadModel opens a model and its tokenizer, and warns on stderr when the
// file is larger than the memory the process may use.
func loadModel(path string, threads int, stderr io.Writer) (*loaded, error) {
	if threads > 0 {
		parallel.SetThreads(threads)
	}
	start := time.Now()
	path, err := resolveModel(path)
	if err != nil {
		return nil, err
	}
	m, f, err := models.Open(path)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if fits, limit, source := models.Fits(f); !fits {
		fmt.Fprintf(stderr, "note: the model (%.1f GiB) is larger than the memory this process may use (%.1f GiB, %s):\n"+
			"      weights will be read from disk as they are needed, which is much slower\n",
			float64(f.Size)/(1<<30), float64(limit)/(1<<30), source)
	}
	return &loaded{f: f, m: m, tok: tok, took: time.Since(start)}, nil
}

func runGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", stderr)
	modelPath := fs.String("m", "", "model GGUF file (required)")
	prompt := fs.String("p", "", "prompt text (special tokens parsed; BOS as the model's metadata says)")
	tokensJSON := fs.String("tokens", "", "prompt as a JSON array of token ids, used verbatim")
	n := fs.Int("n", 128, "tokens to generate (0 = until the context is full)")
	threads := fs.Int("t", 0, "threads (0 = all cores)")
	ctxLen := fs.Int("ctx", 4096, "context size in tokens (prompt + generated), capped at the model's")
	ignoreEOS := fs.Bool("ignore-eos", false, "keep generating past end-of-generation tokens")
	topLogprobs := fs.Int("top-logprobs", 0, "report the K most likely tokens per step (with --json)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of streaming text")
	var stops stringList
	fs.Var(&stops, "stop", "stop string (repeatable)")
	var sf samplingFlags
	sf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *modelPath == "" || len(pos) > 0 || (*prompt == "") == (*tokensJSON == "") {
		return usageError{"usage: sputnik generate -m MODEL.gguf (-p TEXT | --tokens JSON) [flags]"}
	}
	if *topLogprobs < 0 || *topLogprobs > 100 {
		return usageError{"--top-logprobs must be in [0, 100]"}
	}
	lm, err := loadModel(*modelPath, *threads, stderr)
	if err != nil {
		return err
	}
	defer lm.f.Close()

	var ids []int32
	if *tokensJSON != "" {
		if err := json.Unmarshal([]byte(*tokensJSON), &ids); err != nil {
			return usageError{fmt.Sprintf("--tokens: want a JSON array of token ids: %v", err)}
		}
	} else {
		ids = lm.tok.Encode(*prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	}
	info := lm.m.Info()
	capacity := *ctxLen
	if info.ContextLength > 0 && capacity > info.ContextLength {
		capacity = info.ContextLength
	}
	req := engine.Request{
		Prompt: ids, MaxTokens: *n, Sample: sf.options(fs, models.IsR1(lm.f)),
		IgnoreEOS: *ignoreEOS, Stop: stops, TopLogprobs: *topLogprobs,
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	var tops [][]sample.TokenLogprob
	emit := func(t engine.Token) error {
		if *asJSON {
			if t.ID >= 0 && *topLogprobs > 0 {
				tops = append(tops, t.Top)
			}
			return nil
		}
		_, err := io.WriteString(stdout, t.Text)
		return err
	}
	res, err := engine.Generate(ctx, lm.m, lm.tok, req, capacity, emit)
	if err != nil {
		return err
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	if !*asJSON {
		fmt.Fprintln(stdout)
		fmt.Fprintf(stderr, "load %.0f ms, prefill %d tokens in %.1f ms (%.1f tok/s), decode %d tokens in %.1f ms (%.2f tok/s), stop: %s\n",
			ms(lm.took), res.Timings.PrefillTokens, ms(res.Timings.Prefill), perSecond(res.Timings.PrefillTokens, res.Timings.Prefill),
			res.Timings.DecodeTokens, ms(res.Timings.Decode), perSecond(res.Timings.DecodeTokens, res.Timings.Decode), res.StopReason)
		return nil
	}
	type logprob struct {
		ID      int32   `json:"id"`
		Logprob float32 `json:"logprob"`
	}
	out := map[string]any{
		"prompt_tokens": ids,
		"tokens":        nonNil(res.Tokens),
		"text":          res.Text,
		"stop_reason":   res.StopReason,
		"timings": map[string]any{
			"load_ms": ms(lm.took), "prefill_tokens": res.Timings.PrefillTokens, "prefill_ms": ms(res.Timings.Prefill),
			"decode_tokens": res.Timings.DecodeTokens, "decode_ms": ms(res.Timings.Decode),
		},
	}
	if *topLogprobs > 0 {
		tl := make([][]logprob, len(tops))
		for i, step := range tops {
			tl[i] = make([]logprob, len(step))
			for j, x := range step {
				tl[i][j] = logprob{x.ID, x.Logprob}
			}
		}
		out["top_logprobs"] = tl
	}
	return json.NewEncoder(stdout).Encode(out)
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func nonNil(x []int32) []int32 {
	if x == nil {
		return []int32{}
	}
	return x
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
