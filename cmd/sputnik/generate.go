package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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
	seed                                     seedFlag
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
	fs.Var(&s.seed, "seed", "random seed: the same seed gives the same output (-1 = a random one per run, printed with the statistics)")
	fs.Var(&s.seed, "s", "same as --seed")
}

// options builds sampler options; R1 models get DeepSeek's recommended
// temperature and top-p when the user set neither. Without --seed (or
// with -1) the seed is random, so that sampled runs differ; randomSeed
// says so, and the caller prints the seed to make the run repeatable.
func (s *samplingFlags) options(fs *flag.FlagSet, r1 bool) (o sample.Options, randomSeed bool, err error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	o = sample.Options{
		Temperature: float32(s.temp), TopK: s.topK, TopP: float32(s.topP), MinP: float32(s.minP),
		RepeatPenalty: float32(s.repeat), FrequencyPenalty: float32(s.freq), PresencePenalty: float32(s.presence),
		RepeatLastN: s.lastN,
	}
	o.Seed, randomSeed = s.seed.value()
	if r1 && !set["temp"] && !set["top-p"] {
		d := sample.R1Defaults()
		o.Temperature, o.TopP = d.Temperature, d.TopP
	}
	if err := o.Validate(); err != nil {
		return o, false, usageError{strings.TrimPrefix(err.Error(), "sample: ")}
	}
	return o, randomSeed, nil
}

// loaded is a model ready to generate.
type loaded struct {
	f    *gguf.File
	m    model.Model
	tok  *tokenizer.Tokenizer
	took time.Duration
	// interleaved is the bytes of weights models.Interleave copied.
	interleaved int64
}

// loadModel opens a model (a file, a store name or the built-in model)
// and its tokenizer, and warns on stderr when the file is larger than the
// memory the process may use.
func loadModel(path string, threads int, stderr io.Writer) (*loaded, error) {
	if threads > 0 {
		parallel.SetThreads(threads)
	}
	start := time.Now()
	if data, ok := builtinImage(path); ok {
		return loadBuiltin(data, start)
	}
	path, err := resolveModel(path)
	if err != nil {
		return nil, err
	}
	var interleaved int64
	show := interleaveProgress(stderr)
	m, f, err := models.OpenWith(path, models.Options{Progress: func(done, total int64) {
		interleaved = done
		show(done, total)
	}})
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
			"      %.1f GiB of the weights every token reads are held in memory (%s), the rest\n"+
			"      will be read from disk as they are needed, which is much slower\n",
			float64(f.Size)/(1<<30), float64(limit)/(1<<30), source, float64(interleaved)/(1<<30), models.InterleaveEnv)
	}
	return &loaded{f: f, m: m, tok: tok, took: time.Since(start), interleaved: interleaved}, nil
}

// interleaveProgress returns the progress report of models.Interleave for
// loadModel: nothing for models below 256 MiB (well under a second), else
// a line on stderr rewritten at every 10% and ended when done.
func interleaveProgress(stderr io.Writer) func(done, total int64) {
	last := -1
	return func(done, total int64) {
		if total < 256<<20 {
			return
		}
		pct := int(done * 100 / total)
		if pct/10 == last/10 && done < total {
			return
		}
		last = pct
		fmt.Fprintf(stderr, "\rinterleaving %.1f GiB of weights for the CPU kernels: %d%%", float64(total)/(1<<30), pct)
		if done == total {
			fmt.Fprintln(stderr)
		}
	}
}

// loadBuiltin builds the built-in model from its image in the binary.
func loadBuiltin(data []byte, start time.Time) (*loaded, error) {
	f, err := openBuiltin(data)
	if err != nil {
		return nil, err
	}
	m, err := models.New(f)
	if err != nil {
		return nil, fmt.Errorf("the built-in model: %w", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("the built-in model: %w", err)
	}
	return &loaded{f: f, m: m, tok: tok, took: time.Since(start)}, nil
}

func runGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", stderr)
	modelPath := modelFlag(fs, "model GGUF file or pulled model name (default: the built-in model)")
	var pf promptFlags
	pf.register(fs)
	tokensJSON := fs.String("tokens", "", "prompt as a JSON array of token ids, used verbatim")
	n := fs.Int("n", 128, "tokens to generate (0 or -1 = until the context is full)")
	fs.IntVar(n, "n-predict", 128, "same as -n")
	threads := threadsFlag(fs)
	ctxLen := ctxFlag(fs, 4096, "context size in tokens (prompt + generated), capped at the model's")
	ignoreEOS := fs.Bool("ignore-eos", false, "keep generating past end-of-generation tokens")
	topLogprobs := fs.Int("top-logprobs", 0, "report the K most likely tokens per step (with --json)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of streaming text")
	var stops stringList
	fs.Var(&stops, "stop", "stop string (repeatable)")
	var sf samplingFlags
	sf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: sputnik generate [-m MODEL.gguf] (-p TEXT | -f FILE | --tokens JSON) [flags]")
		fmt.Fprintln(fs.Output(), "\nContinues the prompt as it is (no chat template: 'sputnik run' chats).")
		fmt.Fprintln(fs.Output(), "Special-token text such as <｜User｜> in the prompt is parsed; -e turns \\n into a newline.")
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError{fmt.Sprintf("unexpected argument %q (the prompt goes after -p)", pos[0])}
	case !pf.given() && *tokensJSON == "":
		return usageError{"missing the prompt: give -p TEXT, -f FILE or --tokens JSON"}
	case pf.given() && *tokensJSON != "":
		return usageError{"give the prompt as text (-p, -f) or as --tokens, not both"}
	case *topLogprobs < 0 || *topLogprobs > 100:
		return usageError{fmt.Sprintf("--top-logprobs %d: want 0 to 100", *topLogprobs)}
	}
	for _, check := range []error{checkPredict(n), checkThreads(*threads), checkCtx(*ctxLen)} {
		if check != nil {
			return check
		}
	}
	var prompt string
	if pf.given() {
		if prompt, err = pf.prompt(); err != nil {
			return err
		}
	} else if _, err := parseTokenIDs(*tokensJSON, 0); err != nil {
		return err
	}
	if *modelPath, err = defaultModel("generate", *modelPath); err != nil {
		return err
	}
	lm, err := loadModel(*modelPath, *threads, stderr)
	if err != nil {
		return err
	}
	defer lm.f.Close()

	info := lm.m.Info()
	var ids []int32
	if *tokensJSON != "" {
		if ids, err = parseTokenIDs(*tokensJSON, info.VocabSize); err != nil {
			return err
		}
	} else {
		ids = lm.tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	}
	capacity := *ctxLen
	if info.ContextLength > 0 && capacity > info.ContextLength {
		capacity = info.ContextLength
	}
	opts, randomSeed, err := sf.options(fs, models.IsR1(lm.f))
	if err != nil {
		return err
	}
	req := engine.Request{
		Prompt: ids, MaxTokens: *n, Sample: opts,
		IgnoreEOS: *ignoreEOS, Stop: stops, TopLogprobs: *topLogprobs,
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	out := &lineWriter{w: stdout}
	var tops [][]sample.TokenLogprob
	emit := func(t engine.Token) error {
		if *asJSON {
			if t.ID >= 0 && *topLogprobs > 0 {
				tops = append(tops, t.Top)
			}
			return nil
		}
		_, err := io.WriteString(out, t.Text)
		return err
	}
	res, err := engine.Generate(ctx, lm.m, lm.tok, req, capacity, emit)
	if err != nil {
		return err
	}
	interrupted := error(nil)
	if res.StopReason == "cancelled" {
		interrupted = errInterrupted
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	if !*asJSON {
		out.endLine()
		seed := ""
		if opts.Temperature > 0 {
			seed = fmt.Sprintf(", seed %d", opts.Seed)
		}
		fmt.Fprintf(stderr, "load %.0f ms, prefill %d tokens in %.1f ms (%.1f tok/s), decode %d tokens in %.1f ms (%.2f tok/s), stop: %s%s\n",
			ms(lm.took), res.Timings.PrefillTokens, ms(res.Timings.Prefill), perSecond(res.Timings.PrefillTokens, res.Timings.Prefill),
			res.Timings.DecodeTokens, ms(res.Timings.Decode), perSecond(res.Timings.DecodeTokens, res.Timings.Decode), res.StopReason, seed)
		return interrupted
	}
	type logprob struct {
		ID      int32   `json:"id"`
		Logprob float32 `json:"logprob"`
	}
	obj := map[string]any{
		"prompt_tokens": ids,
		"tokens":        nonNil(res.Tokens),
		"text":          res.Text,
		"stop_reason":   res.StopReason,
		"seed":          opts.Seed,
		"random_seed":   randomSeed,
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
		obj["top_logprobs"] = tl
	}
	if err := json.NewEncoder(stdout).Encode(obj); err != nil {
		return err
	}
	return interrupted
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
