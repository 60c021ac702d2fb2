package recipe

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/builtin"
	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// readmeClaim matches the README's statement of the built-in model's
// held-out accuracy.
var readmeClaim = regexp.MustCompile(`held-out accuracy of the built-in model: \*\*([0-9.]+)%\*\*`)

// TestBuiltinModel evaluates the model built into the binary on r1-tiny's
// held-out problems (greedy, the recipe's final evaluation size) and checks
// that it reaches the accuracy the README states, and that thinking is
// what earns it (the no-thinking ablation stays far below).
func TestBuiltinModel(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates the built-in model on the held-out set; runs in make test, skipped with -short")
	}
	name, data, ok := builtin.Model()
	if !ok {
		t.Fatal("this build has no built-in model (internal/builtin/models/r1-tiny.gguf)")
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := readmeClaim.FindSubmatch(readme)
	if m == nil {
		t.Fatalf("README.md does not state %q", readmeClaim)
	}
	claim, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.ParseBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	r := R1Tiny()
	task, err := NewTask(r, tok)
	if err != nil {
		t.Fatal(err)
	}
	think, err := task.Evaluate(context.Background(), data, r.EvalFinal, false)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := task.Evaluate(context.Background(), data, r.EvalFinal, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: held-out accuracy %.1f%% thinking (%.1f reasoning tokens), %.1f%% without; README states %.1f%%",
		name, 100*think.Accuracy, think.ReasoningTokens, 100*plain.Accuracy, claim)
	if 100*think.Accuracy < claim {
		t.Errorf("built-in model: held-out accuracy %.1f%%, below the README's %.1f%%", 100*think.Accuracy, claim)
	}
	if !(plain.Accuracy < think.Accuracy/2) {
		t.Errorf("without thinking %.1f%%, with %.1f%%: thinking should at least double it", 100*plain.Accuracy, 100*think.Accuracy)
	}
}
