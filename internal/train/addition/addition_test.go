package addition

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/chat"
)

// lineRE is one line of the working: left of A, left of B, digit + digit +
// carry = sum, result so far.
var lineRE = regexp.MustCompile(`^(\d+|_) (\d+|_): (\d)\+(\d)\+([01])=(\d+), (\d+)$`)

// checkTrace verifies the working of p line by line with its own reading
// of the format (see the package comment), and its result against math/big.
func checkTrace(t *testing.T, p Problem, thinking string) {
	t.Helper()
	a, b := strconv.FormatUint(p.A, 10), strconv.FormatUint(p.B, 10)
	rest := func(s string, i int) string {
		if i >= len(s) {
			return "_"
		}
		return s[:len(s)-i]
	}
	digit := func(s string, i int) int {
		if i >= len(s) {
			return 0
		}
		return int(s[len(s)-1-i] - '0')
	}
	lines := strings.Split(thinking, "\n")
	carry, result, lastCarryIn := 0, "", 0
	for i, line := range lines {
		lastCarryIn = carry
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%d + %d: line %d %q does not match the format", p.A, p.B, i, line)
		}
		if m[1] != rest(a, i) || m[2] != rest(b, i) {
			t.Fatalf("%d + %d: line %d %q: operands left %q %q, want %q %q", p.A, p.B, i, line, m[1], m[2], rest(a, i), rest(b, i))
		}
		da, db, c := int(m[3][0]-'0'), int(m[4][0]-'0'), int(m[5][0]-'0')
		if da != digit(a, i) || db != digit(b, i) || c != carry {
			t.Fatalf("%d + %d: line %d %q: adds %d+%d+%d, want %d+%d+%d", p.A, p.B, i, line, da, db, c, digit(a, i), digit(b, i), carry)
		}
		if sum, _ := strconv.Atoi(m[6]); sum != da+db+c || m[6] != strconv.Itoa(sum) {
			t.Fatalf("%d + %d: line %d %q: sum %s, want %d", p.A, p.B, i, line, m[6], da+db+c)
		}
		sum := da + db + c
		result = strconv.Itoa(sum%10) + result
		carry = sum / 10
		if m[7] != result {
			t.Fatalf("%d + %d: line %d %q: result %s, want %s", p.A, p.B, i, line, m[7], result)
		}
	}
	// The working stops exactly when both operands are used up and no carry is left.
	n := len(lines)
	if rest(a, n) != "_" || rest(b, n) != "_" || carry != 0 {
		t.Fatalf("%d + %d: working stops after %d lines with %q %q carry %d left", p.A, p.B, n, rest(a, n), rest(b, n), carry)
	}
	if rest(a, n-1) == "_" && rest(b, n-1) == "_" && lastCarryIn == 0 {
		t.Fatalf("%d + %d: the last line has nothing to add: %q", p.A, p.B, thinking)
	}
	want := new(big.Int).Add(new(big.Int).SetUint64(p.A), new(big.Int).SetUint64(p.B)).String()
	if result != want {
		t.Fatalf("%d + %d: working ends in %s, want %s", p.A, p.B, result, want)
	}
	if p.Answer() != want {
		t.Fatalf("%d + %d: Answer() = %s, want %s", p.A, p.B, p.Answer(), want)
	}
}

func TestThinkingExample(t *testing.T) {
	// The example of the package comment, written by hand.
	want := "4821 957: 1+7+0=8, 8\n" +
		"482 95: 2+5+0=7, 78\n" +
		"48 9: 8+9+0=17, 778\n" +
		"4 _: 4+0+1=5, 5778"
	p := Problem{4821, 957}
	if got := p.Thinking(); got != want {
		t.Errorf("Thinking() =\n%s\nwant\n%s", got, want)
	}
	if got, want := p.Completion(false), want+"\n</think>\n\n5778"; got != want {
		t.Errorf("Completion(false) = %q, want %q", got, want)
	}
	if got, want := p.Completion(true), "\n</think>\n\n5778"; got != want {
		t.Errorf("Completion(true) = %q, want %q", got, want)
	}
	if got, want := p.Question(), "What is 4821 + 957?"; got != want {
		t.Errorf("Question() = %q, want %q", got, want)
	}
}

func TestThinkingArithmetic(t *testing.T) {
	const nines = 999999999999999999 // 18 digits
	for _, p := range []Problem{
		{0, 0}, {0, 7}, {7, 0}, {5, 5}, {9, 9}, {9999, 1}, {1, 9999}, {99999, 99999},
		{100000, 1}, {10, 90}, {123456789, 0}, {0, 123456789},
		{nines, nines}, {nines, 1}, {1, nines}, {nines, 0}, {100000000000000000, 900000000000000000},
	} {
		t.Run(fmt.Sprintf("%d+%d", p.A, p.B), func(t *testing.T) { checkTrace(t, p, p.Thinking()) })
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, o := range []Options{{1, 5}, {1, 8}, {1, MaxDigits}, {MaxDigits, MaxDigits}} {
		for range 2000 {
			p := draw(rng, o)
			checkTrace(t, p, p.Thinking())
		}
	}
}

func TestFinalCarryLine(t *testing.T) {
	// 9999 + 1 ripples a carry through every column and needs a last line for it.
	lines := strings.Split(Problem{9999, 1}.Thinking(), "\n")
	if got, want := lines[len(lines)-1], "_ _: 0+0+1=1, 10000"; got != want {
		t.Errorf("last line = %q, want %q", got, want)
	}
	if len(lines) != 5 {
		t.Errorf("got %d lines, want 5", len(lines))
	}
}

func TestGrade(t *testing.T) {
	p := Problem{4821, 957}
	think := p.Thinking()
	for _, tc := range []struct {
		name                string
		completion          string
		wellFormed, correct bool
		reward              float64
	}{
		{"gold", p.Completion(false), true, true, RewardCorrect},
		{"gold with EOS text", p.Completion(false) + EOS, true, true, RewardCorrect},
		{"gold, extra whitespace", think + "\n</think>\n\n5778\n", true, true, RewardCorrect},
		{"no thinking (ablation)", p.Completion(true), false, true, 0},
		{"whitespace thinking", " \n \n</think>\n\n5778", false, true, 0},
		{"wrong answer", think + "\n</think>\n\n5779", true, false, RewardWellFormed},
		{"leading zero", think + "\n</think>\n\n05778", true, false, RewardWellFormed},
		{"missing </think>", think + "\n\n5778", false, false, 0},
		{"two </think>", think + "\n</think>\n</think>\n\n5778", false, false, 0},
		{"answer twice", think + "\n</think>\n\n5778\n</think>\n\n5778", false, false, 0},
		{"extra text", think + "\n</think>\n\n5778 is the answer", false, false, 0},
		{"words for answer", think + "\n</think>\n\nfive thousand", false, false, 0},
		{"empty answer", think + "\n</think>\n\n", false, false, 0},
		{"sign", think + "\n</think>\n\n+5778", false, false, 0},
		{"reopened think", "<think>\n" + think + "\n</think>\n\n5778", false, true, 0},
		{"empty", "", false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Grade(p, tc.completion)
			if s.WellFormed != tc.wellFormed || s.Correct != tc.correct || s.Reward != tc.reward {
				t.Errorf("Grade(%q) = %+v, want WellFormed %v Correct %v Reward %v", tc.completion, s, tc.wellFormed, tc.correct, tc.reward)
			}
		})
	}
	if got, want := Grade(p, p.Completion(false)).ReasoningChars, len(think); got != want {
		t.Errorf("ReasoningChars of the gold = %d, want %d", got, want)
	}
	if got := Grade(p, p.Completion(true)).ReasoningChars; got != 0 {
		t.Errorf("ReasoningChars without thinking = %d, want 0", got)
	}
	// Every training completion is graded correct, and another problem's is not.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		p, q := New(rng, Options{1, 8}), New(rng, Options{1, 8})
		if s := Grade(p, p.Completion(false)); !s.WellFormed || !s.Correct || s.Reward != RewardCorrect {
			t.Fatalf("%d + %d: gold graded %+v", p.A, p.B, s)
		}
		if p.Answer() != q.Answer() && Grade(p, q.Completion(false)).Correct {
			t.Fatalf("%d + %d: the completion of %d + %d graded correct", p.A, p.B, q.A, q.B)
		}
	}
}

func TestHeldOutSplit(t *testing.T) {
	o := Options{1, 5}
	rng := rand.New(rand.NewPCG(5, 6))
	held := 0
	const draws = 100000
	for range draws {
		p := draw(rng, o)
		if HeldOut(p) != HeldOut(Problem{p.B, p.A}) {
			t.Fatalf("%d + %d: HeldOut differs from %d + %d", p.A, p.B, p.B, p.A)
		}
		if HeldOut(p) {
			held++
		}
		if q := New(rng, o); HeldOut(q) {
			t.Fatalf("New returned held-out problem %d + %d", q.A, q.B)
		}
	}
	// The held-out share is about 1/HeldOutShare (binomial sd ≈ 0.06%).
	if frac := float64(held) / draws; frac < 0.8/HeldOutShare || frac > 1.2/HeldOutShare {
		t.Errorf("held-out fraction %.4f, want about %.4f", frac, 1.0/HeldOutShare)
	}
	// Small operands: every training draw of 1–2 digits avoids the held-out pairs.
	for range draws {
		if q := New(rng, Options{1, 2}); HeldOut(q) {
			t.Fatalf("New returned held-out problem %d + %d", q.A, q.B)
		}
	}

	test := TestSet(500, 7, o)
	if len(test) != 500 {
		t.Fatalf("TestSet returned %d problems, want 500", len(test))
	}
	seen := map[Problem]bool{}
	for _, p := range test {
		if !HeldOut(p) {
			t.Fatalf("TestSet problem %d + %d is not held out", p.A, p.B)
		}
		if seen[p] {
			t.Fatalf("TestSet repeats %d + %d", p.A, p.B)
		}
		seen[p] = true
	}
	// A held-out space smaller than n: it still terminates, with every
	// held-out one-digit problem once.
	var want []Problem
	for a := range uint64(10) {
		for b := range uint64(10) {
			if HeldOut(Problem{a, b}) {
				want = append(want, Problem{a, b})
			}
		}
	}
	got := TestSet(20, 1, Options{1, 1})
	slices.SortFunc(got, func(p, q Problem) int { return int(p.A*10+p.B) - int(q.A*10+q.B) })
	if !slices.Equal(got, want) {
		t.Errorf("TestSet over one-digit operands = %v, want all held-out ones %v", got, want)
	}
}

func TestDeterminism(t *testing.T) {
	o := Options{1, 8}
	if a, b := TestSet(200, 42, o), TestSet(200, 42, o); !slices.Equal(a, b) {
		t.Error("TestSet with the same seed differs")
	}
	if a, b := TestSet(200, 42, o), TestSet(200, 43, o); slices.Equal(a, b) {
		t.Error("TestSet with different seeds is the same")
	}
	c1 := Corpus(rand.New(rand.NewPCG(9, 9)), o, 100)
	c2 := Corpus(rand.New(rand.NewPCG(9, 9)), o, 100)
	if !slices.Equal(c1, c2) {
		t.Error("Corpus with the same generator state differs")
	}
	for i, s := range c1 {
		if !strings.HasPrefix(s, BOS+User+"What is ") || !strings.HasSuffix(s, EOS) {
			t.Fatalf("corpus text %d = %q, want a prompt, a completion and EOS", i, s)
		}
	}
}

// TestPromptMatchesTemplate checks that Prompt equals internal/chat's
// deepseek-r1 template rendered for one user message with a generation
// prompt and ForceThink, as the server and `sputnik run` render it.
func TestPromptMatchesTemplate(t *testing.T) {
	tmpl, err := chat.Builtin("deepseek-r1")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 20 {
		p := New(rng, Options{1, 8})
		got, err := tmpl.Apply([]chat.Message{{Role: "user", Content: p.Question()}},
			chat.Options{AddGenerationPrompt: true, BOS: BOS, EOS: EOS, ForceThink: true})
		if err != nil {
			t.Fatal(err)
		}
		if got != p.Prompt() {
			t.Fatalf("template renders %q, Prompt() = %q", got, p.Prompt())
		}
	}
	want := "<｜begin▁of▁sentence｜><｜User｜>What is 4821 + 957?<｜Assistant｜><think>\n"
	if got := (Problem{4821, 957}).Prompt(); got != want {
		t.Errorf("Prompt() = %q, want %q", got, want)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{0, 5}, {3, 2}, {1, MaxDigits + 1}, {}} {
		if o.Validate() == nil {
			t.Errorf("%+v: Validate() = nil, want an error", o)
		}
	}
	for _, o := range []Options{{1, 1}, {1, MaxDigits}, {MaxDigits, MaxDigits}} {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: Validate() = %v", o, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New with invalid options did not panic")
		}
	}()
	New(rand.New(rand.NewPCG(1, 1)), Options{})
}
