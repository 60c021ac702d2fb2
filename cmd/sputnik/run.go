package main

import (
	"bufio"
	"bytes"
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
// the prompt is computed. A model without a chat template (a base model)
// continues each line as plain text instead.
func runRun(args []string, stdout, stderr io.Writer) error {
	return runChat(args, os.Stdin, stdout, stderr)
}

func runChat(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	modelPath := modelFlag(fs, "model GGUF file or pulled model name (or give a .gguf file as the first argument; default: the built-in model)")
	system := fs.String("system", "", "system prompt")
	fs.StringVar(system, "sys", "", "same as --system")
	fs.StringVar(system, "system-prompt", "", "same as --system")
	var pf promptFlags
	pf.register(fs)
	threads := threadsFlag(fs)
	ctxLen := ctxFlag(fs, 4096, "context size in tokens, capped at the model's")
	n := fs.Int("n", 0, "maximum tokens per answer (0 or -1 = until the context is full)")
	fs.IntVar(n, "n-predict", 0, "same as -n")
	noThink := fs.Bool("hide-thinking", false, "do not print the model's reasoning")
	var sf samplingFlags
	sf.register(fs)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: sputnik run [-m MODEL.gguf] [flags] [PROMPT]")
		fmt.Fprintln(w, "\nChats with the model through its own chat template; with PROMPT (or -p/-f) it answers once.")
		fmt.Fprintln(w, "A model without a chat template continues each line as plain text.")
		fmt.Fprintln(w, "In the chat, /? lists the commands (/set, /show, /clear, /bye).")
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *modelPath == "" && len(pos) > 0 && strings.HasSuffix(pos[0], ".gguf") {
		*modelPath, pos = pos[0], pos[1:]
	}
	switch {
	case len(pos) > 1:
		return usageError{fmt.Sprintf("unexpected argument %q: quote the prompt to pass it as one argument", pos[1])}
	case len(pos) == 1 && pf.given():
		return usageError{"give the prompt as an argument or with -p/-f, not both"}
	}
	for _, check := range []error{checkPredict(n), checkThreads(*threads), checkCtx(*ctxLen)} {
		if check != nil {
			return check
		}
	}
	oneShot := len(pos) == 1 || pf.given()
	var prompt string
	if len(pos) == 1 {
		prompt = pos[0]
	} else if pf.given() {
		if prompt, err = pf.prompt(); err != nil {
			return err
		}
	}

	if *modelPath, err = defaultModel("run", *modelPath); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loading %s…\n", describeModel(*modelPath))
	lm, err := loadModel(*modelPath, *threads, stderr)
	if err != nil {
		return err
	}
	defer lm.f.Close()
	r1 := models.IsR1(lm.f)
	opts, randomSeed, err := sf.options(fs, r1)
	if err != nil {
		return err
	}
	s := &session{
		system: *system, opts: opts, randomSeed: randomSeed, maxTokens: *n, hideThinking: *noThink,
		r1: r1, lm: lm, modelPath: *modelPath,
	}
	src, special, err := templateSource(*modelPath, "", "", io.Discard)
	switch {
	case errors.As(err, new(noTemplateError)):
		s.plain = true
	case err != nil:
		return err
	default:
		if s.tmpl, err = chat.Parse(src); err != nil {
			return fmt.Errorf("chat template: %w", err)
		}
		s.special = special
	}
	info := lm.m.Info()
	s.capacity = min(*ctxLen, max(info.ContextLength, 1))
	// One sequence at a time; the paged cache keeps each turn's blocks, so
	// the next turn's prompt, which starts with this one, is not recomputed.
	eng, err := engine.New(lm.m, lm.tok, engine.Options{Parallel: 1, Context: s.capacity, Queue: 1})
	if err != nil {
		return err
	}
	defer eng.Close(context.Background())
	s.eng = eng
	s.out = &lineWriter{w: stdout}
	s.stderr = stderr
	if isTerminal(stdout) {
		s.dim, s.reset = "\x1b[2m", "\x1b[0m"
	}
	if s.plain {
		fmt.Fprintf(stderr, "%s has no chat template (a base model): %s continued as plain text\n",
			*modelPath, map[bool]string{true: "the prompt is", false: "each line is"}[oneShot])
	}

	if oneShot {
		return s.answer(prompt)
	}
	fmt.Fprintf(stderr, "chatting with %s (%s). /? for help, /bye or Ctrl-D to leave, Ctrl-C stops an answer.\n", orDash(info.Name), info.Arch)
	lines := newLineReader(stdin, s.out)
	defer lines.Close()
	for {
		line, err := lines.ReadLine()
		if errors.Is(err, io.EOF) {
			s.out.endLine()
			return nil
		}
		if err != nil {
			s.out.endLine()
			return err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "/") {
			if quit := s.command(line); quit {
				return nil
			}
			continue
		}
		if err := s.answer(line); err != nil {
			if errors.Is(err, engine.ErrPromptTooLong) {
				fmt.Fprintf(stderr, "the conversation no longer fits in the context (%d tokens); /clear starts over\n", s.capacity)
				continue
			}
			return err
		}
	}
}

// answer adds the user's line to the conversation (or, for a base model,
// takes it as the text to continue) and streams the model's answer.
func (s *session) answer(user string) error {
	turn := chat.Message{Role: "user", Content: user}
	prompt, err := s.render(turn)
	if err != nil {
		return err
	}
	ids := s.lm.tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: !s.plain})
	split := chat.NewThinkSplitter(chat.ThinkOptions{StartInReasoning: !s.plain && chat.EndsInReasoning(prompt)})
	var content, thoughts strings.Builder
	thinking := false
	show := func(reasoning, text string) {
		thoughts.WriteString(reasoning)
		if reasoning != "" && !s.hideThinking {
			if !thinking {
				fmt.Fprintf(s.out, "%sThinking…\n", s.dim)
				thinking = true
			}
			fmt.Fprint(s.out, reasoning)
		}
		if text != "" {
			if thinking {
				fmt.Fprintf(s.out, "%s\n\n", s.reset)
				thinking = false
			}
			fmt.Fprint(s.out, text)
			content.WriteString(text)
		}
	}
	opts := s.opts
	if s.randomSeed {
		seed, _ := (&seedFlag{}).value()
		opts.Seed = seed
	}
	// Ctrl-C stops this answer, not the program.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	res, err := engine.Run(ctx, s.eng, engine.Request{Prompt: ids, MaxTokens: s.maxTokens, Sample: opts}, func(t engine.Token) error {
		if s.plain {
			show("", t.Text)
		} else {
			show(split.Push(t.Text))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !s.plain {
		show(split.Flush())
	}
	if thinking {
		fmt.Fprint(s.out, s.reset)
	}
	if !s.plain && (content.Len() > 0 || thoughts.Len() > 0) {
		// A turn that ended inside its reasoning is kept with its
		// reasoning and no answer; chat.Apply knows how to render it.
		s.msgs = append(s.msgs, turn, chat.Message{Role: "assistant", Content: content.String(), ReasoningContent: thoughts.String()})
	}
	s.out.endLine()
	stats := fmt.Sprintf("%d tokens, %.1f tok/s, prefill %d tokens at %.1f tok/s",
		len(res.Tokens), perSecond(res.Timings.DecodeTokens, res.Timings.Decode),
		res.Timings.PrefillTokens, perSecond(res.Timings.PrefillTokens, res.Timings.Prefill))
	if opts.Temperature > 0 {
		stats += fmt.Sprintf(", seed %d", opts.Seed)
	}
	if res.StopReason == "cancelled" {
		stats += ", stopped"
	}
	fmt.Fprintf(s.stderr, "%s[%s]%s\n", s.dim, stats, s.reset)
	return nil
}

// render returns the prompt that asks for the answer to turn: the
// conversation so far and turn through the chat template, or, for a base
// model, the turn's text alone.
func (s *session) render(turn chat.Message) (string, error) {
	if s.plain {
		return turn.Content, nil
	}
	return s.tmpl.Apply(append(s.conversation(), turn), chat.Options{AddGenerationPrompt: true, BOS: s.special.bos, EOS: s.special.eos, ForceThink: s.r1})
}

// lineReader reads the user's lines: a line editor with history on a
// terminal, plain lines otherwise.
type lineReader interface {
	ReadLine() (string, error)
	Close() error
}

// newLineReader returns a line editor (golang.org/x/term's Terminal: arrow
// keys, history, Ctrl-A/E/K/U/W) when stdin and stdout are terminals, and
// a line scanner otherwise. Both show the ">>> " prompt.
func newLineReader(stdin io.Reader, stdout io.Writer) lineReader {
	in, ok := stdin.(*os.File)
	if ok && term.IsTerminal(int(in.Fd())) && isTerminal(stdout) {
		cr := &ctrlCReader{r: in}
		t := term.NewTerminal(struct {
			io.Reader
			io.Writer
		}{cr, stdout}, ">>> ")
		return &termLines{t: t, fd: int(in.Fd()), ctrlC: cr}
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &scanLines{sc: sc, w: stdout}
}

// termLines puts the terminal in raw mode only while a line is read, so
// that answers print as usual and Ctrl-C during an answer is a signal.
type termLines struct {
	t     *term.Terminal
	fd    int
	ctrlC *ctrlCReader
}

func (l *termLines) ReadLine() (string, error) {
	if w, h, err := term.GetSize(l.fd); err == nil && w > 0 && h > 0 {
		l.t.SetSize(w, h)
	}
	old, err := term.MakeRaw(l.fd)
	if err != nil {
		return "", err
	}
	defer term.Restore(l.fd, old)
	l.ctrlC.seen = false
	line, err := l.t.ReadLine()
	if errors.Is(err, io.EOF) && l.ctrlC.seen {
		l.t.Write([]byte("\r\n"))
		return "", errInterrupted // Terminal reports Ctrl-C as EOF
	}
	return line, err
}

func (l *termLines) Close() error { return nil }

// ctrlCReader notes a Ctrl-C byte (ETX) read in raw mode.
type ctrlCReader struct {
	r    io.Reader
	seen bool
}

func (c *ctrlCReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if bytes.IndexByte(p[:n], 3) >= 0 {
		c.seen = true
	}
	return n, err
}

type scanLines struct {
	sc *bufio.Scanner
	w  io.Writer
}

func (l *scanLines) ReadLine() (string, error) {
	fmt.Fprint(l.w, ">>> ")
	if !l.sc.Scan() {
		if err := l.sc.Err(); err != nil {
			return "", err
		}
		return "", io.EOF
	}
	return l.sc.Text(), nil
}

func (l *scanLines) Close() error { return nil }

func isTerminal(w io.Writer) bool {
	if l, ok := w.(*lineWriter); ok {
		w = l.w
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
