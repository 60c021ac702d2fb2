package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
	"github.com/sputnik-llm/sputnik/internal/train/recipe"
)

// runTrain builds a model from scratch with a recipe:
// sputnik train --recipe r1-tiny [--out FILE.gguf] [--steps N] [--seed S] [--resume CKPT].
func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	name := fs.String("recipe", "r1-tiny", "the recipe: "+strings.Join(recipe.Names(), ", "))
	out := fs.String("out", "", "the model file to write (default RECIPE.gguf); a checkpoint on Ctrl-C")
	steps := fs.Int("steps", 0, "SFT steps (0: the recipe's)")
	grpoSteps := fs.Int("grpo-steps", -1, "GRPO steps (-1: the recipe's)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed and thread count give the same model")
	resume := fs.String("resume", "", "continue from a checkpoint written by an interrupted run")
	plot := fs.String("plot", "", "write the reward and accuracy plot here (default: OUT with .png)")
	threads := threadsFlag(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := recipeAndThreads(*name, *threads)
	if err != nil {
		return err
	}
	if *steps < 0 {
		return usageError{"--steps must be >= 0"}
	}
	if *steps > 0 {
		r.SFT.Steps = *steps
	}
	if *grpoSteps >= 0 {
		r.GRPO.Steps = *grpoSteps
	}
	if *out == "" {
		*out = r.Name + ".gguf"
		if *resume != "" {
			*out = *resume
		}
	}
	if *plot == "" {
		*plot = strings.TrimSuffix(*out, ".gguf") + ".png"
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	fmt.Fprintf(stderr, "training %s (seed %d, %d threads): %d SFT steps, then %d GRPO steps → %s\n",
		r.Name, *seed, parallel.Threads(), r.SFT.Steps, r.GRPO.Steps, *out)
	bar := newTrainBar(stderr)
	res, err := recipe.Run(ctx, r, recipe.Options{Seed: *seed, Out: *out, Resume: *resume, Progress: bar.update})
	bar.finish()
	if err != nil {
		return err
	}
	if res.Interrupted {
		fmt.Fprintf(stderr, "interrupted: checkpoint written to %s; continue with: sputnik train --recipe %s --resume %s\n", res.Path, r.Name, res.Path)
		return errInterrupted
	}
	if err := writePlot(*plot, r.Name, res.History); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s in %s (%d tokens trained, %.0f tokens/s)\n", res.Path, res.Wall.Round(time.Second),
		res.Tokens, float64(res.Tokens)/res.Wall.Seconds())
	if res.SFT.N > 0 {
		printEval(stdout, "after SFT", res.SFT)
	}
	printEval(stdout, "final", res.Final)
	printEval(stdout, "final, no thinking", res.NoThink)
	fmt.Fprintf(stdout, "plot: %s, history: %s\n", *plot, recipe.HistoryPath(*out))
	return nil
}

// runEval measures a model on its recipe's held-out problems:
// sputnik eval --recipe r1-tiny [-m FILE] [-n N].
func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	name := fs.String("recipe", "r1-tiny", "the recipe whose held-out set to use: "+strings.Join(recipe.Names(), ", "))
	modelArg := fs.String("m", "", "the model (file or name; default: the built-in model)")
	n := fs.Int("n", 0, "held-out problems (0: the recipe's final evaluation size)")
	threads := threadsFlag(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := recipeAndThreads(*name, *threads)
	if err != nil {
		return err
	}
	if *n < 0 {
		return usageError{"-n must be >= 0"}
	}
	if *n == 0 {
		*n = r.EvalFinal
	}
	arg, err := defaultModel("eval", *modelArg)
	if err != nil {
		return err
	}
	data, label, err := modelBytes(arg)
	if err != nil {
		return err
	}
	f, err := gguf.ParseBytes(data)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	task, err := recipe.NewTask(r, tok)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	fmt.Fprintf(stderr, "evaluating %s on %d held-out %s problems…\n", label, *n, r.Name)
	start := time.Now()
	think, err := task.Evaluate(ctx, data, *n, false)
	if err != nil {
		return err
	}
	plain, err := task.Evaluate(ctx, data, *n, true)
	if err != nil {
		return err
	}
	printEval(stdout, "with thinking", think)
	printEval(stdout, "no thinking", plain)
	fmt.Fprintf(stderr, "evaluated in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// recipeAndThreads returns the named recipe and applies the -t flag.
func recipeAndThreads(name string, threads int) (recipe.Recipe, error) {
	r, err := recipe.Lookup(name)
	if err != nil {
		return r, usageError{err.Error()}
	}
	if err := checkThreads(threads); err != nil {
		return r, err
	}
	if threads > 0 {
		parallel.SetThreads(threads)
	}
	return r, nil
}

func printEval(w io.Writer, what string, ev recipe.Eval) {
	fmt.Fprintf(w, "%-20s accuracy %5.1f%% (%d problems), well-formed %5.1f%%, mean reasoning %.1f tokens\n",
		what+":", 100*ev.Accuracy, ev.N, 100*ev.WellFormed, ev.ReasoningTokens)
}

// modelBytes returns the bytes of the model arg names (a file or a store
// name) and a label for messages.
func modelBytes(arg string) ([]byte, string, error) {
	if b, ok := builtinImage(arg); ok {
		return b, arg + " (built in)", nil
	}
	path, err := resolveModel(arg)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(path)
	return b, path, err
}

// trainBar draws one progress line: phase, steps, loss, reward, held-out
// accuracy, elapsed time and the phase's ETA.
type trainBar struct {
	w     io.Writer
	last  time.Time
	phase string
	t0    time.Duration // elapsed when the phase began
	s0    int           // step when the phase began (resumed runs)
	drawn bool
}

func newTrainBar(w io.Writer) *trainBar { return &trainBar{w: w} }

func (b *trainBar) update(p recipe.Progress) {
	if p.Phase != b.phase {
		if b.drawn {
			fmt.Fprintln(b.w)
		}
		b.phase, b.t0, b.s0 = p.Phase, p.Elapsed, p.Step-1
	}
	if time.Since(b.last) < 200*time.Millisecond && p.Step != p.Steps {
		return
	}
	b.last = time.Now()
	const width = 24
	fill := width * p.Step / max(p.Steps, 1)
	eta := "?"
	if done := p.Step - b.s0; done > 0 {
		per := (p.Elapsed - b.t0) / time.Duration(done)
		eta = (per * time.Duration(p.Steps-p.Step)).Round(time.Second).String()
	}
	acc := "  -  "
	if p.Accuracy >= 0 {
		acc = fmt.Sprintf("%4.0f%%", 100*p.Accuracy)
	}
	metric := fmt.Sprintf("loss %.3f", p.Loss)
	if p.Phase == "grpo" {
		metric = fmt.Sprintf("reward %.3f kl %.4f", p.Reward, p.Loss)
	}
	fmt.Fprintf(b.w, "\r%-4s [%s%s] %d/%d %s  held-out acc %s  %s elapsed, ETA %s  ",
		p.Phase, strings.Repeat("#", fill), strings.Repeat(".", width-fill), p.Step, p.Steps,
		metric, acc, p.Elapsed.Round(time.Second), eta)
	b.drawn = true
}

func (b *trainBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
