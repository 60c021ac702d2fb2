package addition

import (
	"strings"
	"unicode/utf8"
)

// Rewards given by Grade, in the spirit of R1's rule-based accuracy and
// format rewards.
const (
	RewardCorrect    = 1.0 // well-formed and the right answer
	RewardWellFormed = 0.1 // well-formed, wrong answer
)

// Score is Grade's verdict on one completion.
type Score struct {
	// WellFormed: exactly one "</think>", non-empty (not only whitespace)
	// thinking before it with no "<think>" in it, and after it an answer
	// of decimal digits only (surrounding whitespace allowed).
	WellFormed bool
	// Correct: exactly one "</think>" and the text after it, without
	// surrounding whitespace, is Answer(). It does not look at the
	// thinking, so the empty-thinking ablation can be correct.
	Correct bool
	// Reward is RewardCorrect if WellFormed and Correct, RewardWellFormed
	// if only WellFormed, 0 otherwise.
	Reward float64
	// ReasoningChars is the number of characters (code points) of the
	// thinking without surrounding whitespace: the text before the first
	// "</think>", or the whole completion if there is none.
	ReasoningChars int
}

// Grade scores a completion of p.Prompt(): the generated text after the
// prompt's "<think>\n", up to the end-of-sequence token. One trailing EOS
// text ("<｜end▁of▁sentence｜>", present if the caller decoded the end
// token) is ignored; any other text after the answer makes it wrong and
// ill-formed.
func Grade(p Problem, completion string) Score {
	completion = strings.TrimSuffix(completion, EOS)
	thinking, answer, found := strings.Cut(completion, ThinkClose)
	thinking = strings.TrimSpace(thinking)
	s := Score{ReasoningChars: utf8.RuneCountInString(thinking)}
	if !found {
		return s
	}
	// A second "</think>" lands in the answer, which then is neither
	// digits only nor the right answer.
	answer = strings.TrimSpace(answer)
	s.Correct = answer == p.Answer()
	s.WellFormed = thinking != "" && !strings.Contains(thinking, ThinkOpen) && isDigits(answer)
	switch {
	case s.WellFormed && s.Correct:
		s.Reward = RewardCorrect
	case s.WellFormed:
		s.Reward = RewardWellFormed
	}
	return s
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
