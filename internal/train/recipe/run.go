package recipe

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
	"github.com/sputnik-llm/sputnik/internal/train"
	"github.com/sputnik-llm/sputnik/internal/train/addition"
	"github.com/sputnik-llm/sputnik/internal/train/vocab"
)

// Checkpoint metadata keys, beside the model's own.
const (
	keyRecipe = "sputnik.train.recipe"
	keySeed   = "sputnik.train.seed"
	keyPhase  = "sputnik.train.phase" // "sft", "grpo" or "done"
	keyStep   = "sputnik.train.step"  // steps completed in the phase
)

// Options are a run's settings besides the recipe.
type Options struct {
	Seed uint64
	// Out is the GGUF file written at the end, and the checkpoint written
	// when ctx is cancelled (with its optimizer state in train.OptimizerPath(Out)).
	// Beside it: Out's stem + ".sft.gguf" (the SFT model, GRPO's reference)
	// and + ".csv" (the history).
	Out string
	// Resume continues from a checkpoint this package wrote.
	Resume string
	// Progress, if set, is called after every step and evaluation.
	Progress func(Progress)
}

// Progress is a snapshot of a run for progress displays.
type Progress struct {
	Phase    string // "sft", "grpo" or "eval"
	Step     int    // steps done in the phase
	Steps    int    // steps in the phase
	Loss     float64
	Reward   float64 // GRPO: mean reward of the step's samples
	Accuracy float64 // latest held-out accuracy (quick evaluation), -1 before the first
	Elapsed  time.Duration
	Tokens   int // tokens trained on so far
}

// Point is one row of a run's history.
type Point struct {
	Phase    string
	Step     int
	Loss     float64
	Reward   float64 // GRPO only (0 in SFT)
	Accuracy float64 // held-out accuracy when evaluated at this step, else -1
}

// Result is what a run produced.
type Result struct {
	Path        string  // the model file
	Interrupted bool    // ctx was cancelled; Path is a checkpoint to resume from
	History     []Point // every step, resumed runs included
	SFT         Eval    // held-out evaluation of the SFT model (zero if not reached)
	Final       Eval    // held-out evaluation of the final model
	NoThink     Eval    // the final model answering with an empty <think> block
	Wall        time.Duration
	Tokens      int // tokens trained on (this process)
}

// stem returns path without its ".gguf" suffix.
func stem(path string) string { return strings.TrimSuffix(path, ".gguf") }

// SFTPath is where a run writing out keeps its SFT model.
func SFTPath(out string) string { return stem(out) + ".sft.gguf" }

// HistoryPath is where a run writing out keeps its history.
func HistoryPath(out string) string { return stem(out) + ".csv" }

// run is the state of one training run.
type run struct {
	r       Recipe
	o       Options
	tok     *tokenizer.Tokenizer
	tokMeta *gguf.File // tokenizer.* keys, copied into every file written
	task    *Task
	start   time.Time
	res     Result
	lastAcc float64
}

// Run trains r from scratch (or from o.Resume) and writes o.Out. When ctx is
// cancelled it writes a checkpoint to o.Out at the end of the current step
// and returns with Result.Interrupted set. The same recipe, seed and thread
// count give the same file.
func Run(ctx context.Context, r Recipe, o Options) (Result, error) {
	ru := &run{r: r, o: o, start: time.Now(), lastAcc: -1}
	ru.res.Path = o.Out
	var (
		params *train.Params
		phase  = "sft"
		step   int
		optIn  string
	)
	if o.Resume != "" {
		f, err := gguf.Open(o.Resume)
		if err != nil {
			return ru.res, err
		}
		defer f.Close()
		if name, _ := f.String(keyRecipe); name != r.Name {
			return ru.res, fmt.Errorf("recipe: %s was written by recipe %q, not %q", o.Resume, name, r.Name)
		}
		seed, _ := f.Uint(keySeed)
		ru.o.Seed = seed
		phase, _ = f.String(keyPhase)
		s, _ := f.Int(keyStep)
		step = int(s)
		if params, err = train.LoadParams(f); err != nil {
			return ru.res, err
		}
		if ru.tokMeta, err = tokenizerMeta(f); err != nil {
			return ru.res, err
		}
		if step > 0 { // a phase's first step starts with a fresh optimizer
			optIn = train.OptimizerPath(o.Resume)
		}
		if ru.res.History, err = readHistory(HistoryPath(o.Resume)); err != nil {
			return ru.res, err
		}
	} else {
		meta, err := fitTokenizer(r, o.Seed)
		if err != nil {
			return ru.res, err
		}
		ru.tokMeta = meta
	}
	var err error
	if ru.tok, err = tokenizer.FromGGUF(ru.tokMeta); err != nil {
		return ru.res, fmt.Errorf("recipe: fitted tokenizer: %w", err)
	}
	if ru.task, err = NewTask(r, ru.tok); err != nil {
		return ru.res, err
	}
	if params == nil {
		cfg := r.Model
		cfg.VocabSize = ru.tok.VocabSize()
		params = train.NewParams(cfg, o.Seed)
	}

	if phase == "sft" {
		tr := train.NewTrainer(params, train.TrainerOptions{
			MaxTokens: r.MaxTokens, Clip: r.SFT.Clip,
			AdamW: train.AdamWOptions{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: r.SFT.Weight},
		})
		if optIn != "" {
			if err := tr.Optimizer().Load(optIn); err != nil {
				return ru.res, err
			}
		}
		done, err := ru.sft(ctx, tr, step)
		if err != nil || !done {
			return ru.res, err
		}
		if err := ru.write(SFTPath(o.Out), params, "grpo", 0); err != nil {
			return ru.res, err
		}
		if ru.res.SFT, err = ru.task.Evaluate(ctx, ru.modelBytes(params, "", 0), r.EvalFinal, false); err != nil {
			return ru.res, err
		}
		phase, step, optIn = "grpo", 0, ""
	}
	if phase == "grpo" {
		refPath := SFTPath(o.Out)
		switch {
		case strings.HasSuffix(o.Resume, ".sft.gguf"):
			refPath = o.Resume // GRPO from the SFT model itself
		case o.Resume != "":
			refPath = SFTPath(o.Resume)
		}
		ref, err := loadParams(refPath)
		if err != nil {
			return ru.res, fmt.Errorf("recipe: GRPO reference model: %w", err)
		}
		tr := train.NewTrainer(params, train.TrainerOptions{
			MaxTokens: r.MaxTokens, Clip: r.GRPO.Clip,
			AdamW: train.AdamWOptions{Beta1: 0.9, Beta2: 0.99, Eps: 1e-8},
		})
		if optIn != "" {
			if err := tr.Optimizer().Load(optIn); err != nil {
				return ru.res, err
			}
		}
		done, err := ru.grpo(ctx, tr, train.NewNet(ref, r.MaxTokens), step)
		if err != nil || !done {
			return ru.res, err
		}
	}
	model := ru.modelBytes(params, "done", 0)
	if ru.res.Final, err = ru.task.Evaluate(ctx, model, r.EvalFinal, false); err != nil {
		return ru.res, err
	}
	if ru.res.NoThink, err = ru.task.Evaluate(ctx, model, r.EvalFinal, true); err != nil {
		return ru.res, err
	}
	if err := os.WriteFile(o.Out, model, 0o644); err != nil {
		return ru.res, fmt.Errorf("recipe: %w", err)
	}
	ru.res.Wall = time.Since(ru.start)
	return ru.res, writeHistory(HistoryPath(o.Out), ru.res.History)
}

// stepRNG returns the random source of one step: a function of the seed,
// phase and step alone, so that a resumed run draws what the uninterrupted
// one would have.
func (ru *run) stepRNG(phase, step int) *rand.Rand {
	return rand.New(rand.NewPCG(ru.o.Seed, uint64(phase)<<32|uint64(step)))
}

// sft runs the SFT phase from step from; it reports false when interrupted
// (after writing the checkpoint).
func (ru *run) sft(ctx context.Context, tr *train.Trainer, from int) (bool, error) {
	p := ru.r.SFT
	batch := make([]train.Example, p.Batch)
	for step := from; step < p.Steps; step++ {
		if ctx.Err() != nil {
			return false, ru.checkpoint(tr, "sft", step)
		}
		rng := ru.stepRNG(1, step)
		for i := range batch {
			prob := addition.New(rng, ru.r.Task)
			batch[i] = ru.task.Example(prob, rng.Float64() < p.NoThink)
		}
		lr := train.Cosine(step, p.Warmup, p.Steps, p.LR, p.MinLR)
		st, err := tr.SFTStep(batch, lr)
		if err != nil {
			return false, err
		}
		ru.res.Tokens += st.Tokens
		pt := Point{Phase: "sft", Step: step + 1, Loss: st.Loss, Accuracy: -1}
		if err := ru.maybeEval(ctx, tr.Params, &pt, step+1 == p.Steps); err != nil {
			return false, err
		}
		ru.res.History = append(ru.res.History, pt)
		ru.report("sft", step+1, p.Steps, st.Loss, 0)
	}
	return true, nil
}

// grpo runs the GRPO phase from step from against the reference ref.
func (ru *run) grpo(ctx context.Context, tr *train.Trainer, ref *train.Net, from int) (bool, error) {
	p := ru.r.GRPO
	for step := from; step < p.Steps; step++ {
		if ctx.Err() != nil {
			return false, ru.checkpoint(tr, "grpo", step)
		}
		rng := ru.stepRNG(2, step)
		probs := make([]addition.Problem, p.Prompts)
		for i := range probs {
			probs[i] = addition.New(rng, ru.r.grpoTask())
		}
		groups, err := ru.task.Rollouts(ctx, ru.modelBytes(tr.Params, "", 0), probs, p, rng.Uint64())
		if err != nil {
			return false, err
		}
		lr := train.Cosine(step, p.Warmup, p.Steps, p.LR, p.LR/10)
		st, err := tr.GRPOStep(groups, ref, p.Options, lr)
		if err != nil {
			return false, err
		}
		ru.res.Tokens += st.Tokens
		pt := Point{Phase: "grpo", Step: step + 1, Loss: st.KL, Reward: st.Reward, Accuracy: -1}
		if err := ru.maybeEval(ctx, tr.Params, &pt, step+1 == p.Steps); err != nil {
			return false, err
		}
		ru.res.History = append(ru.res.History, pt)
		ru.report("grpo", step+1, p.Steps, st.KL, st.Reward)
	}
	return true, nil
}

// maybeEval runs the quick held-out evaluation every EvalEvery steps and
// at the last step of a phase.
func (ru *run) maybeEval(ctx context.Context, params *train.Params, pt *Point, last bool) error {
	if !last && (ru.r.EvalEvery <= 0 || pt.Step%ru.r.EvalEvery != 0) {
		return nil
	}
	ev, err := ru.task.Evaluate(ctx, ru.modelBytes(params, "", 0), ru.r.EvalQuick, false)
	if err != nil {
		return err
	}
	pt.Accuracy = ev.Accuracy
	ru.lastAcc = ev.Accuracy
	return nil
}

func (ru *run) report(phase string, step, steps int, loss, reward float64) {
	if ru.o.Progress == nil {
		return
	}
	ru.o.Progress(Progress{
		Phase: phase, Step: step, Steps: steps, Loss: loss, Reward: reward,
		Accuracy: ru.lastAcc, Elapsed: time.Since(ru.start), Tokens: ru.res.Tokens,
	})
}

// checkpoint writes the current weights and optimizer state to o.Out so
// that Resume continues at step of phase.
func (ru *run) checkpoint(tr *train.Trainer, phase string, step int) error {
	ru.res.Interrupted = true
	if err := ru.write(ru.o.Out, tr.Params, phase, step); err != nil {
		return err
	}
	if err := tr.Optimizer().Save(train.OptimizerPath(ru.o.Out)); err != nil {
		return err
	}
	return writeHistory(HistoryPath(ru.o.Out), ru.res.History)
}

// write writes params as a complete model file at path.
func (ru *run) write(path string, params *train.Params, phase string, step int) error {
	if err := os.WriteFile(path, ru.modelBytes(params, phase, step), 0o644); err != nil {
		return fmt.Errorf("recipe: %w", err)
	}
	return nil
}

// modelBytes returns params as a GGUF file: the llama model, the fitted
// tokenizer and chat template, and the training state (phase "" leaves
// it out).
func (ru *run) modelBytes(params *train.Params, phase string, step int) []byte {
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	w.AddKV("general.name", ru.r.Name)
	params.AddTo(w)
	for _, k := range ru.tokMeta.Prefixed("tokenizer.") {
		v, _ := ru.tokMeta.Get(k)
		w.AddKV(k, v)
	}
	if phase != "" {
		w.AddKV(keyRecipe, ru.r.Name)
		w.AddKV(keySeed, ru.o.Seed)
		w.AddKV(keyPhase, phase)
		w.AddKV(keyStep, int64(step))
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		// Only a bug can make writing in-memory values fail.
		panic(fmt.Sprintf("recipe: encoding the model: %v", err))
	}
	return b.Bytes()
}

// fitTokenizer fits the recipe's tokenizer to a corpus of rendered
// training problems and returns its GGUF metadata.
func fitTokenizer(r Recipe, seed uint64) (*gguf.File, error) {
	rng := rand.New(rand.NewPCG(seed, 0))
	corpus := addition.Corpus(rng, r.Task, r.Corpus)
	v, err := vocab.Fit(corpus, vocab.Options{
		Size: r.VocabSize, Pre: "qwen2", Specials: vocab.R1Specials(), BOS: addition.BOS, EOS: addition.EOS,
	})
	if err != nil {
		return nil, fmt.Errorf("recipe: fitting the tokenizer: %w", err)
	}
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	v.AddTo(w, chatTemplate())
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("recipe: tokenizer metadata: %w", err)
	}
	return gguf.ParseBytes(b.Bytes())
}

// tokenizerMeta returns a metadata-only copy of f's tokenizer keys.
func tokenizerMeta(f *gguf.File) (*gguf.File, error) {
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	for _, k := range f.Prefixed("tokenizer.") {
		v, _ := f.Get(k)
		w.AddKV(k, v)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("recipe: tokenizer metadata: %w", err)
	}
	return gguf.ParseBytes(b.Bytes())
}

// loadParams reads the weights of a model file this package wrote.
func loadParams(path string) (*train.Params, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return train.LoadParams(f)
}

// chatTemplate is the template stored in the model: Sputnik's own
// DeepSeek-R1 template.
func chatTemplate() string {
	src, err := chat.BuiltinSource("deepseek-r1")
	if err != nil {
		panic(err) // the built-in exists
	}
	return src
}
