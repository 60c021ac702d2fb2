package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestUsageErrors runs mistaken command lines through Main: each is an
// error of one line (two with the hint to -h for flag errors) that names
// what is wrong, exit code 2, nothing on stdout, and no model work.
func TestUsageErrors(t *testing.T) {
	stories := testutil.SharedFile(t, "models/stories260K.gguf")
	withoutBuiltin(t) // so that commands without -m fail
	for _, tc := range []struct {
		args  []string
		want  string
		lines int
	}{
		{[]string{"generate", "-m", stories, "-x"}, "unknown flag -x\nRun 'sputnik generate -h' for the flags.", 2},
		{[]string{"run", "--bogus", "1"}, "unknown flag -bogus", 2},
		{[]string{"generate", "-m", stories, "-n", "abc", "-p", "x"}, `invalid value "abc" for flag -n`, 2},
		{[]string{"generate", "-p", "hi"}, "no -m given and this build has no built-in model", 1},
		{[]string{"run"}, "no -m given and this build has no built-in model", 1},
		{[]string{"bench"}, "missing -m MODEL.gguf", 1},
		{[]string{"generate", "-m", stories}, "missing the prompt: give -p TEXT, -f FILE or --tokens JSON", 1},
		{[]string{"generate", "-m", stories, "-p", "x", "--tokens", "[1]"}, "not both", 1},
		{[]string{"generate", "-m", stories, "-p", "x", "-n", "-5"}, "-n -5: want the number of tokens", 1},
		{[]string{"run", "-m", stories, "--ctx", "0"}, "--ctx 0: the context size", 1},
		{[]string{"serve", "-m", stories, "-c", "0"}, "--ctx 0: the context size", 1},
		{[]string{"generate", "-m", stories, "-p", "x", "-t", "-1"}, "-t -1: want 1 to", 1},
		{[]string{"generate", "-m", stories, "-p", "x", "-t", "1000"}, "-t 1000: want 1 to", 1},
		{[]string{"bench", "-m", stories, "--pp", "-5"}, "--pp -5: want the prompt tokens to prefill", 1},
		{[]string{"bench", "-m", stories, "--tg", "-1"}, "--tg -1: want the tokens to decode", 1},
		{[]string{"generate", "-m", stories, "--seed", "-2", "-p", "x"}, "want a number ≥ 0, or -1 for a random seed", 2},
		{[]string{"generate", "-m", stories, "-p", "x", "--temp", "-1"}, "Temperature = -1", 1},
		{[]string{"generate", "-m", stories, "--tokens", "hello"}, `--tokens "hello": want a JSON array of token ids`, 1},
		{[]string{"generate", "-m", stories, "--tokens", `[1, "a"]`}, `--tokens: element 1 ("\"a\"") is not a token id`, 1},
		{[]string{"generate", "-m", stories, "--tokens", `[1, 99999]`}, "element 1 (\"99999\") is not a token id: want an integer from 0 to 511 (the vocabulary has 512 tokens)", 1},
		{[]string{"generate", "-m", stories, "--tokens", `[]`}, "at least one token", 1},
		{[]string{"frobnicate"}, "unknown command \"frobnicate\"\nRun 'sputnik help' for the commands.", 2},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(tc.args, &out, &errb)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tc.want)
			}
			if got := strings.Count(errb.String(), "\n"); got != tc.lines {
				t.Errorf("got %d lines on stderr, want %d:\n%s", got, tc.lines, errb.String())
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

// TestHelp checks that help goes to stdout with exit code 0, for the menu
// and for each command, however it is asked for.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Commands:"},
		{[]string{"--help"}, "Commands:"},
		{[]string{"help", "generate"}, "Usage: sputnik generate [-m MODEL.gguf]"},
		{[]string{"generate", "-h"}, "Usage: sputnik generate [-m MODEL.gguf]"},
		{[]string{"generate", "--help"}, "-ctx-size"},
		{[]string{"help", "run"}, "/? lists the commands"},
		{[]string{"help", "serve"}, "Usage: sputnik serve [-m MODEL.gguf]"},
		{[]string{"help", "version"}, "Usage: sputnik version"},
		{[]string{"help", "info"}, "Usage: sputnik info"},
		{[]string{"help", "ps"}, "SPUTNIK_HOST"},
		{[]string{"show", "-h"}, "Usage: sputnik info"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := Main(tc.args, &out, &errb); code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("stdout does not contain %q:\n%s", tc.want, out.String())
			}
			if errb.Len() != 0 {
				t.Errorf("stderr %q, want nothing", errb.String())
			}
		})
	}
	var out, errb bytes.Buffer
	if code := Main(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "Commands:") {
		t.Errorf("no arguments: exit %d, stderr %q; want 2 and the menu", code, errb.String())
	}
}

// TestVersion checks the version command and flag.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		var out, errb bytes.Buffer
		if code := Main(args, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "sputnik ") || !strings.Contains(out.String(), "go1.") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
}

// TestShowIsInfo checks ollama's show verb on a file.
func TestShowIsInfo(t *testing.T) {
	p := testutil.SharedFile(t, "models/stories260K.gguf")
	var info, show, errb bytes.Buffer
	if Main([]string{"info", "--no-tensors", p}, &info, &errb) != 0 || Main([]string{"show", "--no-tensors", p}, &show, &errb) != 0 {
		t.Fatalf("info/show failed: %s", errb.String())
	}
	if info.String() != show.String() {
		t.Errorf("show differs from info")
	}
}

// TestInfoFIFO checks that info on a named pipe is an error at once
// instead of waiting for a writer.
func TestInfoFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "model.gguf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() { done <- Main([]string{"info", fifo}, &out, &errb) }()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(errb.String(), "named pipe (FIFO), not a regular file") {
			t.Errorf("exit %d, stderr %q", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("info on a FIFO hangs")
	}
}

func TestProcessEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`plain`, "plain"},
		{`<think>\n`, "<think>\n"},
		{`a\tb\\n\"c\'`, "a\tb\\n\"c'"},
		{`\x41\x4`, "A\\x4"},
		{`\q and trailing \`, `\q and trailing \`},
		{`\r\n`, "\r\n"},
	} {
		if got := processEscapes(tc.in); got != tc.want {
			t.Errorf("processEscapes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// generateJSON runs generate --json through Main and decodes its output.
func generateJSON(t *testing.T, args ...string) (res struct {
	PromptTokens []int32 `json:"prompt_tokens"`
	Tokens       []int32 `json:"tokens"`
	Text         string  `json:"text"`
	Seed         uint64  `json:"seed"`
	RandomSeed   bool    `json:"random_seed"`
}) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main(append([]string{"generate", "--json"}, args...), &out, &errb); code != 0 {
		t.Fatalf("generate %v: exit %d: %s", args, code, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("generate %v: %v in %q", args, err, out.String())
	}
	return res
}

// TestLlamaCppFlags checks that llama.cpp's flag names do what ours do,
// that -e processes escapes and -f reads the prompt from a file.
func TestLlamaCppFlags(t *testing.T) {
	p := testutil.SharedFile(t, "models/stories260K.gguf")
	ours := generateJSON(t, "-m", p, "-p", "Once upon\na time", "-n", "12", "-t", "1", "--ctx", "64", "--seed", "3", "--temp", "0.9")
	theirs := generateJSON(t, "--model", p, "--prompt", `Once upon\na time`, "-e", "--n-predict", "12", "--threads", "1", "-c", "64", "-s", "3", "--temp", "0.9")
	if !slicesEqual(ours.PromptTokens, theirs.PromptTokens) || !slicesEqual(ours.Tokens, theirs.Tokens) {
		t.Errorf("llama.cpp flags: prompt %v → %v, want %v → %v", theirs.PromptTokens, theirs.Tokens, ours.PromptTokens, ours.Tokens)
	}
	f := filepath.Join(t.TempDir(), "prompt.txt")
	if err := os.WriteFile(f, []byte("Once upon\na time"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := generateJSON(t, "-m", p, "-f", f, "-n", "12", "--ctx-size", "64", "--seed", "3", "--temp", "0.9")
	if !slicesEqual(file.PromptTokens, ours.PromptTokens) || !slicesEqual(file.Tokens, ours.Tokens) {
		t.Errorf("-f: prompt %v, want %v", file.PromptTokens, ours.PromptTokens)
	}
	noEscapes := generateJSON(t, "-m", p, "-p", `Once upon\na time`, "-n", "1")
	if slicesEqual(noEscapes.PromptTokens, ours.PromptTokens) {
		t.Errorf("without -e the backslash-n was still turned into a newline")
	}
}

// TestRandomSeed checks that sampling without a seed differs from run to
// run (and reports the seed it drew), and that the reported seed repeats
// the run.
func TestRandomSeed(t *testing.T) {
	p := testutil.SharedFile(t, "models/stories260K.gguf")
	args := []string{"-m", p, "-p", "Once upon a time", "-n", "40", "--temp", "1.0"}
	a := generateJSON(t, args...)
	b := generateJSON(t, append(args, "--seed", "-1")...)
	if !a.RandomSeed || !b.RandomSeed {
		t.Errorf("random_seed false without a seed")
	}
	if a.Seed == b.Seed || slicesEqual(a.Tokens, b.Tokens) {
		t.Errorf("two runs without a seed gave seeds %d and %d, tokens equal: %v", a.Seed, b.Seed, slicesEqual(a.Tokens, b.Tokens))
	}
	again := generateJSON(t, append(args, "--seed", jsonNumber(a.Seed))...)
	if again.RandomSeed || !slicesEqual(again.Tokens, a.Tokens) {
		t.Errorf("--seed %d did not repeat the run: %q vs %q", a.Seed, again.Text, a.Text)
	}
	// The text output prints the seed with the statistics.
	var out, errb bytes.Buffer
	if Main(append([]string{"generate"}, args...), &out, &errb) != 0 || !strings.Contains(errb.String(), ", seed ") {
		t.Errorf("statistics without the seed: %q", errb.String())
	}
	if !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("output %q does not end its line before the statistics", out.String())
	}
}

// TestGenerateInterrupt sends SIGINT during a generation: the command
// stops and Main exits with 130.
func TestGenerateInterrupt(t *testing.T) {
	p := testutil.SharedFile(t, "models/stories260K.gguf")
	// Keep the test process alive whatever the timing of the signal.
	hold := make(chan os.Signal, 1)
	signal.Notify(hold, os.Interrupt)
	defer signal.Stop(hold)
	out := &slowWriter{started: make(chan struct{})}
	done := make(chan int, 1)
	var errb syncBuffer
	go func() {
		done <- Main([]string{"generate", "-m", p, "-p", "Once", "-n", "0", "--ignore-eos", "--temp", "0"}, out, &errb)
	}()
	<-out.started
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	select {
	case code := <-done:
		if code != 130 || !strings.Contains(errb.String(), "stop: cancelled") {
			t.Errorf("exit %d, stderr %q; want 130 and the statistics", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("generate did not stop on SIGINT")
	}
}

// slowWriter closes started at the first write and slows every write, so
// that a signal arrives mid-generation.
type slowWriter struct {
	started chan struct{}
	n       int
}

func (w *slowWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		close(w.started)
	}
	w.n++
	time.Sleep(20 * time.Millisecond)
	return len(p), nil
}

// TestRunBaseModel checks that run continues text with a model that has
// no chat template, one-shot and interactively.
func TestRunBaseModel(t *testing.T) {
	p := testutil.SharedFile(t, "models/stories260K.gguf")
	var out, errb bytes.Buffer
	if err := runChat([]string{"-m", p, "-n", "20", "--temp", "0", "Once upon a time"}, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("one-shot: %v\n%s", err, errb.String())
	}
	if want := ", there was a little girl named Lily."; !strings.HasPrefix(out.String(), want) {
		t.Errorf("one-shot: got %q, want it to start with %q", out.String(), want)
	}
	if !strings.Contains(errb.String(), "no chat template") {
		t.Errorf("no note about the missing template: %q", errb.String())
	}
	out.Reset()
	errb.Reset()
	if err := runChat([]string{"-m", p, "-n", "20", "--temp", "0"}, strings.NewReader("Once upon a time\n/bye\n"), &out, &errb); err != nil {
		t.Fatalf("interactive: %v\n%s", err, errb.String())
	}
	if want := ">>> , there was a little girl named Lily."; !strings.Contains(out.String(), want) {
		t.Errorf("interactive: got %q, want %q in it", out.String(), want)
	}
	if !strings.Contains(errb.String(), "\n[20 tokens") {
		t.Errorf("statistics not on their own line: %q", errb.String())
	}
}

// TestRunChatCommands drives /?, /set, /show and /clear.
func TestRunChatCommands(t *testing.T) {
	p := testutil.SharedFile(t, "golden/models/qwen2-tiny-f32.gguf")
	input := strings.Join([]string{
		"/?", "/set", "/set temperature 0.5", "/set parameter seed 7", "/set num_predict 3",
		"/set top_k -4", "/set temperature warm", "/set colour blue",
		"/set system Be brief.", "/show parameters", "/show system", "/show info",
		"Hello", "/clear", "/show", "/frobnicate", "/bye", "never read",
	}, "\n") + "\n"
	var out, errb bytes.Buffer
	if err := runChat([]string{"-m", p, "-n", "8"}, strings.NewReader(input), &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"Available commands:", "/set parameter NAME VALUE",
		"Set parameter 'temperature' to '0.5'", "Set parameter 'seed' to '7'", "Set parameter 'num_predict' to '3'",
		"Couldn't set top_k:", `Couldn't set temperature: "warm" is not a number`, "Couldn't set colour: unknown parameter",
		"Set the system prompt.",
		"  temperature      0.5\n", "  seed             7\n", "  num_predict      3\n",
		"Be brief.\n", "  architecture     qwen2\n",
		"Cleared the conversation.", "Available /show commands:", `Unknown command "/frobnicate". Type /? for help.`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output does not contain %q", want)
		}
	}
	if strings.Count(errb.String(), "[3 tokens") != 1 || !strings.Contains(errb.String(), "seed 7]") {
		t.Errorf("want one answer of 3 tokens with seed 7; stderr:\n%s", errb.String())
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", got)
	}
}

// TestRunUnansweredTurn checks the R1 case of an answer cut off while the
// model was thinking: the next prompt carries no empty tool-call block
// (DeepSeek's template took the turn without content for a tool call).
func TestRunUnansweredTurn(t *testing.T) {
	p := testutil.SharedFile(t, "golden/models/deepseek2-tiny-q8_0.gguf")
	src, special, err := templateSource(p, "", "", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{tmpl: tmpl, special: special, r1: true, msgs: []chat.Message{
		{Role: "user", Content: "What is 12*7?"},
		{Role: "assistant", ReasoningContent: "Let me multiply 12 by"}, // what run keeps for such a turn
	}}
	prompt, err := s.render(chat.Message{Role: "user", Content: "Go on."})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(prompt, "tool▁calls") || !strings.HasSuffix(prompt, "<｜User｜>Go on.<｜end▁of▁sentence｜><｜Assistant｜><think>\n") {
		t.Errorf("prompt %q", prompt)
	}
	// And the whole chat: two turns of two tokens each end inside the
	// reasoning, and run goes on.
	var out, errb bytes.Buffer
	if err := runChat([]string{"-m", p, "-n", "2", "--seed", "1"}, strings.NewReader("Hi\nAnd?\n"), &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	if got := strings.Count(errb.String(), "[2 tokens"); got != 2 {
		t.Errorf("got %d answers, want 2:\n%s", got, errb.String())
	}
}

func slicesEqual(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func jsonNumber(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRunSystemPromptFlags checks llama.cpp's -sys and --system-prompt.
func TestRunSystemPromptFlags(t *testing.T) {
	p := testutil.SharedFile(t, "golden/models/qwen2-tiny-f32.gguf")
	for _, flag := range []string{"-sys", "--system-prompt", "--system"} {
		var out, errb bytes.Buffer
		if err := runChat([]string{"--model", p, flag, "Be brief.", "--n-predict", "2"}, strings.NewReader("/show system\n"), &out, &errb); err != nil {
			t.Fatalf("%s: %v\n%s", flag, err, errb.String())
		}
		if !strings.Contains(out.String(), ">>> Be brief.\n") {
			t.Errorf("%s: /show system printed %q", flag, out.String())
		}
	}
}
