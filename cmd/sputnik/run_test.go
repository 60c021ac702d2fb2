package main

import (
	"bytes"
	"strings"
	"testing"

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
