package addition

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// The DeepSeek-R1 chat format's markers. BOS, User, Assistant and EOS are
// control tokens of an R1 vocabulary, ThinkOpen and ThinkClose user-defined
// ones (internal/train/vocab's R1Specials).
const (
	BOS        = "<｜begin▁of▁sentence｜>"
	EOS        = "<｜end▁of▁sentence｜>"
	User       = "<｜User｜>"
	Assistant  = "<｜Assistant｜>"
	ThinkOpen  = "<think>"
	ThinkClose = "</think>"
)

// GenerationPrompt is what an R1 prompt ends with when the model must
// reason first: the assistant header and an opened think block, as
// internal/chat renders the "deepseek-r1" template with a generation
// prompt and ForceThink.
const GenerationPrompt = Assistant + ThinkOpen + "\n"

// Prompt returns the rendered prompt of a one-message conversation asking
// p.Question(), ending with GenerationPrompt:
// "<｜begin▁of▁sentence｜><｜User｜>What is A + B?<｜Assistant｜><think>\n".
// It equals internal/chat's "deepseek-r1" template rendered with BOS text,
// a generation prompt and ForceThink (checked by test); it is built by
// concatenation so that generating prompts costs no template run.
func (p Problem) Prompt() string {
	return BOS + User + p.Question() + GenerationPrompt
}

// Thinking returns the step-by-step working, the text between "<think>\n"
// and "\n</think>": one line per column from the right (see the package
// comment), lines separated by "\n", no trailing newline. The last line's
// result is Answer().
func (p Problem) Thinking() string {
	a := strconv.FormatUint(p.A, 10)
	b := strconv.FormatUint(p.B, 10)
	var sb strings.Builder
	sb.Grow(3 * (max(len(a), len(b)) + 1) * (len(a) + len(b) + 12))
	result := make([]byte, 0, max(len(a), len(b))+1) // the sum's digits so far, least significant last
	carry := 0
	for i := 0; ; i++ {
		ra, rb := a[:max(len(a)-i, 0)], b[:max(len(b)-i, 0)] // what is left of each operand
		if ra == "" && rb == "" && carry == 0 {
			break
		}
		da, db := lastDigit(ra), lastDigit(rb)
		sum := da + db + carry
		if i > 0 {
			sb.WriteByte('\n')
		}
		field(&sb, ra)
		sb.WriteByte(' ')
		field(&sb, rb)
		sb.WriteString(": ")
		sb.WriteByte(byte('0' + da))
		sb.WriteByte('+')
		sb.WriteByte(byte('0' + db))
		sb.WriteByte('+')
		sb.WriteByte(byte('0' + carry))
		sb.WriteByte('=')
		sb.WriteString(strconv.Itoa(sum))
		sb.WriteString(", ")
		result = append(result, byte('0'+sum%10))
		for j := len(result) - 1; j >= 0; j-- {
			sb.WriteByte(result[j])
		}
		carry = sum / 10
	}
	return sb.String()
}

// lastDigit returns the value of s's last digit, 0 for "".
func lastDigit(s string) int {
	if s == "" {
		return 0
	}
	return int(s[len(s)-1] - '0')
}

// field writes what is left of an operand, "_" when nothing is.
func field(sb *strings.Builder, rest string) {
	if rest == "" {
		sb.WriteByte('_')
		return
	}
	sb.WriteString(rest)
}

// Completion returns exactly what the model should generate after Prompt()
// (whose GenerationPrompt already opened the think block), without the
// end-of-sequence token: Thinking() + "\n</think>\n\n" + Answer(). With
// noThink it is the empty-thinking variant "\n</think>\n\n" + Answer(),
// for the ablation that answers without reasoning (Grade counts it
// correct but not well-formed).
func (p Problem) Completion(noThink bool) string {
	if noThink {
		return "\n" + ThinkClose + "\n\n" + p.Answer()
	}
	return p.Thinking() + "\n" + ThinkClose + "\n\n" + p.Answer()
}

// Text returns the whole training sequence: Prompt() + Completion(noThink)
// + EOS, as it should be tokenized (with special tokens parsed and no BOS
// added, since the text starts with one).
func (p Problem) Text(noThink bool) string {
	return p.Prompt() + p.Completion(noThink) + EOS
}

// Corpus returns the Text(false) of n training problems drawn with New(rng,
// o), in order: the corpus a vocabulary is fitted to
// (internal/train/vocab.Fit) and a sample of what SFT trains on.
func Corpus(rng *rand.Rand, o Options, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = New(rng, o).Text(false)
	}
	return out
}
