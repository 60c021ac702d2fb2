package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Command-line habits shared by the subcommands: llama.cpp's flag names as
// aliases, range checks that name the flag, prompts from files with
// escapes, seeds, and the exit code of an interrupted command.

// errInterrupted ends a command stopped with Ctrl-C; Main exits with 130,
// the shell's code for SIGINT.
var errInterrupted = errors.New("interrupted")

// helpRequest is returned by parseFlags for -h; Main prints the command's
// help to stdout.
type helpRequest struct {
	fs    *flag.FlagSet
	usage func()
}

func (h helpRequest) Error() string { return "help requested" }
func (h helpRequest) Unwrap() error { return flag.ErrHelp }

// print writes the command's help to w.
func (h helpRequest) print(w io.Writer) {
	h.fs.SetOutput(w)
	if h.usage != nil {
		h.usage()
		return
	}
	fmt.Fprintf(w, "Usage: %s [flags]\n\nFlags:\n", h.fs.Name())
	h.fs.PrintDefaults()
}

// modelFlag registers -m and its llama.cpp spelling --model.
func modelFlag(fs *flag.FlagSet, usage string) *string {
	p := fs.String("m", "", usage)
	fs.StringVar(p, "model", "", "same as -m")
	return p
}

// threadsFlag registers -t and --threads.
func threadsFlag(fs *flag.FlagSet) *int {
	p := fs.Int("t", 0, "threads (0 = all cores)")
	fs.IntVar(p, "threads", 0, "same as -t")
	return p
}

// ctxFlag registers --ctx and llama.cpp's -c and --ctx-size.
func ctxFlag(fs *flag.FlagSet, def int, usage string) *int {
	p := fs.Int("ctx", def, usage)
	fs.IntVar(p, "c", def, "same as --ctx")
	fs.IntVar(p, "ctx-size", def, "same as --ctx")
	return p
}

// checkThreads rejects thread counts below 0 or above the CPUs this
// process may use (more threads than CPUs only adds waiting).
func checkThreads(t int) error {
	if n := runtime.NumCPU(); t < 0 || t > n {
		return usageError{fmt.Sprintf("-t %d: want 1 to %d threads (the CPUs this process may use), or 0 for all", t, n)}
	}
	return nil
}

// checkCtx rejects a context size that cannot hold a prompt and an answer.
func checkCtx(c int) error {
	if c < 2 {
		return usageError{fmt.Sprintf("--ctx %d: the context size is the tokens of prompt and answer together; want at least 2 (it is capped at the model's own)", c)}
	}
	return nil
}

// checkPredict accepts -n N ≥ 0 and llama.cpp's -1 (both mean until the
// context is full) and rejects other negative counts.
func checkPredict(n *int) error {
	switch {
	case *n == -1:
		*n = 0
	case *n < 0:
		return usageError{fmt.Sprintf("-n %d: want the number of tokens to generate, ≥ 0 (0 or -1 = until the context is full)", *n)}
	}
	return nil
}

// missingModel is the error for a command run without -m.
func missingModel(cmd string) error {
	return usageError{fmt.Sprintf("missing -m MODEL.gguf: the model file to load (sputnik %s -h for help)", cmd)}
}

// promptFlags are llama.cpp's ways to give a prompt: -p/--prompt, -f FILE
// and -e to process escapes.
type promptFlags struct {
	text, file string
	escapes    bool
}

func (p *promptFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.text, "p", "", "prompt text")
	fs.StringVar(&p.text, "prompt", "", "same as -p")
	fs.StringVar(&p.file, "f", "", "read the prompt from `FILE` (its bytes exactly)")
	fs.StringVar(&p.file, "file", "", "same as -f")
	fs.BoolVar(&p.escapes, "e", false, `process escapes in the prompt: \n \r \t \' \" \\ \xHH`)
	fs.BoolVar(&p.escapes, "escape", false, "same as -e")
}

// given reports whether -p or -f was set.
func (p *promptFlags) given() bool { return p.text != "" || p.file != "" }

// prompt returns the prompt text from -p or -f, with escapes processed
// when -e is set.
func (p *promptFlags) prompt() (string, error) {
	s := p.text
	switch {
	case p.text != "" && p.file != "":
		return "", usageError{"give the prompt with -p TEXT or -f FILE, not both"}
	case p.file != "":
		b, err := os.ReadFile(p.file)
		if err != nil {
			return "", fmt.Errorf("-f: %w", err)
		}
		s = string(b)
	}
	if p.escapes {
		s = processEscapes(s)
	}
	return s, nil
}

// processEscapes replaces the escapes llama.cpp's -e understands: \n, \r,
// \t, \', \", \\ and \xHH (one byte). Other backslashes stay as they are.
func processEscapes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\'', '"', '\\':
			b.WriteByte(c)
		case 'x':
			if i+2 < len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
					b.WriteByte(byte(v))
					i += 2
					continue
				}
			}
			b.WriteString(`\x`)
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String()
}

// seedFlag is --seed/-s: a number ≥ 0 fixes the sampler's random source;
// -1 (llama.cpp's spelling) or no flag picks a random seed for the run.
type seedFlag struct {
	v   uint64
	set bool
}

func (s *seedFlag) String() string {
	if !s.set {
		return "-1"
	}
	return strconv.FormatUint(s.v, 10)
}

func (s *seedFlag) Set(v string) error {
	if v == "-1" {
		s.v, s.set = 0, false
		return nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return errors.New("want a number ≥ 0, or -1 for a random seed")
	}
	s.v, s.set = n, true
	return nil
}

// value returns the seed to use and whether it was chosen at random.
func (s *seedFlag) value() (uint64, bool) {
	if s.set {
		return s.v, false
	}
	return uint64(rand.Uint32()), true
}

// parseTokenIDs reads --tokens: a JSON array of integer token ids below
// vocab (0: not known yet, only the syntax is checked). Errors say what was
// wrong with the user's list.
func parseTokenIDs(s string, vocab int) ([]int32, error) {
	const want = "want a JSON array of token ids such as [151646, 9707]"
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "[") || !strings.HasSuffix(t, "]") {
		return nil, usageError{fmt.Sprintf("--tokens %s: %s", shorten(s), want)}
	}
	t = strings.TrimSpace(t[1 : len(t)-1])
	if t == "" {
		return nil, usageError{"--tokens []: the prompt needs at least one token"}
	}
	fields := strings.Split(t, ",")
	ids := make([]int32, len(fields))
	for i, f := range fields {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil || v < 0 {
			return nil, usageError{fmt.Sprintf("--tokens: element %d (%s) is not a token id (an integer ≥ 0); %s", i, shorten(f), want)}
		}
		if vocab > 0 && v >= int64(vocab) {
			return nil, usageError{fmt.Sprintf("--tokens: element %d (%s) is not a token id: want an integer from 0 to %d (the vocabulary has %d tokens)",
				i, shorten(f), vocab-1, vocab)}
		}
		ids[i] = int32(v)
	}
	return ids, nil
}

// shorten quotes s for an error message, cut to a readable length.
func shorten(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}

// lineWriter remembers whether the last byte written ended a line, so that
// statistics can start on a line of their own.
type lineWriter struct {
	w   io.Writer
	mid bool // the last byte written was not '\n'
}

func (l *lineWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.mid = p[len(p)-1] != '\n'
	}
	return l.w.Write(p)
}

// endLine writes a newline unless the output is at the start of a line.
func (l *lineWriter) endLine() {
	if l.mid {
		l.Write([]byte{'\n'})
	}
}
