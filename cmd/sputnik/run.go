package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/term"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// runRun is the terminal chat: each user line is added to the conversation,
// the whole conversation is rendered with the model's chat template, and
// the answer streams back with its reasoning shown apart (dimmed on a
// terminal). The KV cache is kept between turns, so only the new part of
// the prompt is computed.
func runRun(args []string, stdout, stderr io.Writer) error {
	return runChat(args, os.Stdin, stdout, stderr)
}

func runChat(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	modelPath := fs.String("m", "", "model GGUF file (required)")
	system := fs.String("system", "", "system prompt")
	threads := fs.Int("t", 0, "threads (0 = all cores)")
	ctxLen := fs.Int("ctx", 4096, "context size in tokens, capped at the model's")
	n := fs.Int("n", 0, "maximum tokens per answer (0 = until the context is full)")
	noThink := fs.Bool("hide-thinking", false, "do not print the model's reasoning")
	var sf samplingFlags
	sf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *modelPath == "" && len(pos) > 0 && strings.HasSuffix(pos[0], ".gguf") {
		*modelPath, pos = pos[0], pos[1:]
	}
	if *modelPath == "" || len(pos) > 1 {
		return usageError{"usage: sputnik run -m MODEL.gguf [flags] [PROMPT]"}
	}
	fmt.Fprintf(stderr, "loading %s…\n", *modelPath)
	lm, err := loadModel(*modelPath, *threads, stderr)
	if err != nil {
		return err
	}
	defer lm.f.Close()
	src, special, err := templateSource(*modelPath, "", "", stderr)
	if err != nil {
		return err
	}
	tmpl, err := chat.Parse(src)
	if err != nil {
		return fmt.Errorf("chat template: %w", err)
	}
	r1 := models.IsR1(lm.f)
	info := lm.m.Info()
	capacity := min(*ctxLen, max(info.ContextLength, 1))
	// One sequence at a time; the paged cache keeps each turn's blocks, so
	// the next turn's prompt, which starts with this one, is not recomputed.
	eng, err := engine.New(lm.m, lm.tok, engine.Options{Parallel: 1, Context: capacity, Queue: 1})
	if err != nil {
		return err
	}
	defer eng.Close(context.Background())
	opts := sf.options(fs, r1)
	tty := isTerminal(stdout)
	dim, reset := "", ""
	if tty {
		dim, reset = "\x1b[2m", "\x1b[0m"
	}

	var msgs []chat.Message
	if *system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: *system})
	}
	answer := func(user string) error {
		msgs = append(msgs, chat.Message{Role: "user", Content: user})
		prompt, err := tmpl.Apply(msgs, chat.Options{AddGenerationPrompt: true, BOS: special.bos, EOS: special.eos, ForceThink: r1})
		if err != nil {
			msgs = msgs[:len(msgs)-1]
			return err
		}
		ids := lm.tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
		split := chat.NewThinkSplitter(chat.ThinkOptions{StartInReasoning: chat.EndsInReasoning(prompt)})
		var content, thoughts strings.Builder
		thinking := false
		show := func(reasoning, text string) {
			thoughts.WriteString(reasoning)
			if reasoning != "" && !*noThink {
				if !thinking {
					fmt.Fprintf(stdout, "%sThinking…\n", dim)
					thinking = true
				}
				fmt.Fprint(stdout, reasoning)
			}
			if text != "" {
				if thinking {
					fmt.Fprintf(stdout, "%s\n\n", reset)
					thinking = false
				}
				fmt.Fprint(stdout, text)
				content.WriteString(text)
			}
		}
		// Ctrl-C stops this answer, not the program.
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
		defer cancel()
		res, err := engine.Run(ctx, eng, engine.Request{
			Prompt: ids, MaxTokens: *n, Sample: opts,
		}, func(t engine.Token) error {
			show(split.Push(t.Text))
			return nil
		})
		if err != nil {
			msgs = msgs[:len(msgs)-1]
			return err
		}
		show(split.Flush())
		if thinking {
			fmt.Fprint(stdout, reset)
		}
		if content.Len() == 0 && thoughts.Len() == 0 {
			msgs = msgs[:len(msgs)-1] // nothing was said: forget the turn
		} else {
			msgs = append(msgs, chat.Message{Role: "assistant", Content: content.String(), ReasoningContent: thoughts.String()})
		}
		fmt.Fprintf(stdout, "\n")
		fmt.Fprintf(stderr, "%s[%d tokens, %.1f tok/s, prefill %d tokens at %.1f tok/s%s]%s\n", dim,
			len(res.Tokens), perSecond(res.Timings.DecodeTokens, res.Timings.Decode),
			res.Timings.PrefillTokens, perSecond(res.Timings.PrefillTokens, res.Timings.Prefill),
			map[bool]string{true: ", stopped", false: ""}[res.StopReason == "cancelled"], reset)
		return nil
	}

	if len(pos) == 1 { // one-shot
		return answer(pos[0])
	}
	fmt.Fprintf(stderr, "chatting with %s (%s). /bye or Ctrl-D to leave, Ctrl-C stops an answer.\n", orDash(info.Name), info.Arch)
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for {
		fmt.Fprint(stdout, ">>> ")
		if !in.Scan() {
			fmt.Fprintln(stdout)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		switch {
		case line == "":
			continue
		case line == "/bye" || line == "/exit":
			return nil
		case line == "/clear":
			msgs = msgs[:0]
			if *system != "" {
				msgs = append(msgs, chat.Message{Role: "system", Content: *system})
			}
			continue
		}
		if err := answer(line); err != nil {
			if errors.Is(err, engine.ErrPromptTooLong) {
				fmt.Fprintf(stderr, "the conversation no longer fits in the context (%d tokens); /clear starts over\n", capacity)
				continue
			}
			return err
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
