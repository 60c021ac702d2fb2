// Package addition is the verifiable reasoning task of the r1-tiny recipe:
// adding two multi-digit numbers, with a step-by-step working in the
// DeepSeek-R1 format ("<think>\n" working "\n</think>\n\n" answer) and a
// rule-based reward (Grade).
//
// The working is a detailed scratchpad in the spirit of Lee et al. 2023,
// "Teaching Arithmetic to Small Transformers": one line per column from the
// right, so that every step reads its inputs at a fixed place relative to
// the line it writes or the line before it, never by a long-range position
// lookup. For 4821 + 957 (Problem.Thinking):
//
//	4821 957: 1+7+0=8, 8
//	482 95: 2+5+0=7, 78
//	48 9: 8+9+0=17, 778
//	4 _: 4+0+1=5, 5778
//
// Each line starts with what is left of both operands ("_" once one is
// used up), so the two digits to add are the last digits before the space
// and before the colon on the same line; the next line copies both fields
// with their last digit dropped. Then comes digit + digit + carry = sum, the
// carry being 1 exactly when the previous line's sum has two digits, and
// the result so far with the sum's last digit prepended to the previous
// line's, so the answer is a copy of the last line's result. A final carry
// gets a line of its own ("_ _: 0+0+1=1, 10000" for 9999 + 1). Digits are
// single tokens under the tokenizer.ggml.pre types that split numbers digit
// by digit ("qwen2", "deepseek-r1-qwen"), which internal/train/vocab uses.
//
// Problems are split deterministically into training and held-out ones by a
// hash of the unordered pair of operands (HeldOut), so a held-out a + b is
// never trained on as b + a either: New only returns training problems and
// TestSet only held-out ones.
package addition

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// MaxDigits is the largest number of digits an operand may have: the sum
// of two 18-digit numbers fits in a uint64, that of two 19-digit ones may
// not.
const MaxDigits = 18

// Options sets the problem distribution. An operand's digit count is drawn
// uniformly from [MinDigits, MaxDigits], independently for the two
// operands, and the operand uniformly among the numbers with that many
// digits (0–9 for one digit, no leading zeros otherwise).
type Options struct {
	MinDigits, MaxDigits int // 1 <= MinDigits <= MaxDigits <= addition.MaxDigits
}

// Validate reports whether o is a valid distribution.
func (o Options) Validate() error {
	if o.MinDigits < 1 || o.MinDigits > o.MaxDigits || o.MaxDigits > MaxDigits {
		return fmt.Errorf("addition: digits per operand [%d, %d]: want 1 <= min <= max <= %d", o.MinDigits, o.MaxDigits, MaxDigits)
	}
	return nil
}

// Problem is one addition, A + B.
type Problem struct {
	A, B uint64
}

// HeldOutShare is the denominator of the held-out fraction: HeldOut is
// true for about one problem in HeldOutShare.
const HeldOutShare = 32

// HeldOut reports whether p belongs to the held-out test split. The split
// is a fixed function of the unordered pair {A, B} (a hash, so it is the
// same on every machine and in every version that keeps this constant),
// true for about 1/HeldOutShare of all pairs.
func HeldOut(p Problem) bool {
	lo, hi := min(p.A, p.B), max(p.A, p.B)
	return mix64(mix64(lo^0x9e3779b97f4a7c15)^hi)%HeldOutShare == 0
}

// mix64 is splitmix64's finalizer, a bijection on uint64 that spreads every
// input bit over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// draw returns a problem from o's distribution, held out or not.
func draw(rng *rand.Rand, o Options) Problem {
	return Problem{operand(rng, o), operand(rng, o)}
}

func operand(rng *rand.Rand, o Options) uint64 {
	d := o.MinDigits + rng.IntN(o.MaxDigits-o.MinDigits+1)
	if d == 1 {
		return rng.Uint64N(10)
	}
	lo := uint64(1)
	for range d - 1 {
		lo *= 10
	}
	return lo + rng.Uint64N(9*lo)
}

// New draws a training problem from o's distribution with rng: it draws
// until the problem is not HeldOut, so it never returns a held-out one. It
// panics if o is invalid (a programming error; check Options.Validate for
// options that come from a user).
func New(rng *rand.Rand, o Options) Problem {
	if err := o.Validate(); err != nil {
		panic(err)
	}
	for {
		if p := draw(rng, o); !HeldOut(p) {
			return p
		}
	}
}

// TestSet returns n distinct held-out problems drawn from o's
// distribution with a generator seeded by seed: the same arguments give
// the same problems, in the same order. It returns fewer than n only when
// o's held-out space is too small (1000·n + 100000 draws did not find n
// distinct ones; one-digit operands have about two held-out pairs, maybe
// none). It panics if o is invalid, like New.
func TestSet(n int, seed uint64, o Options) []Problem {
	if err := o.Validate(); err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6164646974696f6e)) // "addition"
	out := make([]Problem, 0, n)
	seen := make(map[Problem]bool, n)
	for tries := 0; len(out) < n && tries < 1000*n+100000; tries++ {
		p := draw(rng, o)
		if HeldOut(p) && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// Question returns the user message, "What is A + B?".
func (p Problem) Question() string {
	return "What is " + strconv.FormatUint(p.A, 10) + " + " + strconv.FormatUint(p.B, 10) + "?"
}

// Answer returns the sum in decimal, the text the model must end with.
func (p Problem) Answer() string { return strconv.FormatUint(p.A+p.B, 10) }
