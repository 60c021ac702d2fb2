package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

func TestRunChat(t *testing.T) {
	p := testutil.SharedFile(t, "golden/models/qwen2-tiny-f32.gguf")
	var out, errb bytes.Buffer
	err := runChat([]string{"-m", p, "-n", "8", "--temp", "0"}, strings.NewReader("What is 12*7?\nAnd 3+4?\n/bye\nnever read\n"), &out, &errb)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	if got := strings.Count(errb.String(), "[8 tokens"); got != 2 {
		t.Errorf("got %d answers, want 2; stderr:\n%s", got, errb.String())
	}
	// End of input leaves cleanly too.
	out.Reset()
	errb.Reset()
	if err := runChat([]string{"-m", p, "-n", "4"}, strings.NewReader("hello\n"), &out, &errb); err != nil {
		t.Fatalf("EOF: %v", err)
	}
}

// TestRunHostileTemplate chats with a model whose file carries a hostile
// chat template: run stops with an error naming the limit or rule instead
// of running out of memory, for a few of testutil.HostileTemplates.
func TestRunHostileTemplate(t *testing.T) {
	src, err := gguf.Open(testutil.SharedFile(t, "golden/models/qwen2-tiny-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	for _, name := range []string{"str.replace fan-out", "str.format fan-out", "list literal doubling", "append to itself", "mutual recursion", "deep brackets"} {
		t.Run(name, func(t *testing.T) {
			var tc testutil.HostileTemplate
			for _, h := range testutil.HostileTemplates {
				if h.Name == name {
					tc = h
				}
			}
			if tc.Source == "" || !tc.Quick {
				t.Fatalf("no quick hostile template %q", name)
			}
			model := testutil.RewriteGGUF(t, src, dir, "hostile.gguf", map[string]any{"tokenizer.chat_template": tc.Source}, nil)
			var out, errb bytes.Buffer
			err := runChat([]string{"-m", model, "-n", "4"}, strings.NewReader("hello\n"), &out, &errb)
			if err == nil || !strings.Contains(err.Error(), "template") || !strings.Contains(err.Error(), "render limit") && !strings.Contains(err.Error(), tc.Want) {
				t.Fatalf("got %v; want an error naming the limit or %q", err, tc.Want)
			}
		})
	}
}
