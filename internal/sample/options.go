package sample

import (
	"errors"
	"fmt"
	"math"
)

// Options configures a Sampler. The zero value is greedy decoding: the token
// with the highest logit, the lowest id among equal logits.
//
// The stages run in llama.cpp's default order: penalties, top-k, top-p, min-p,
// temperature, draw. Top-p and min-p therefore see probabilities at
// temperature 1, and temperature only reshapes what the filters kept.
// Every field's zero value switches its stage off.
type Options struct {
	// Temperature divides the logits before the draw. Range [0, +Inf); DeepSeek
	// recommends 0.6 for R1. 0 (and any value <= 0) means greedy: the highest
	// penalized logit wins, lowest id on ties, and the filters and the random
	// source are not used.
	Temperature float32

	// TopK keeps the TopK highest logits (ties broken toward the lower id).
	// Range [0, vocab]; 0 disables it, and values >= the vocabulary size keep
	// every token.
	TopK int

	// TopP (nucleus sampling) keeps the smallest set of most likely tokens
	// whose probabilities, computed at temperature 1 over the tokens top-k
	// left, sum to at least TopP. Range [0, 1]; 0 and 1 disable it. (llama.cpp
	// reads a top-p of 0 as "keep one token"; here 0 is the zero value and
	// means off. Use TopK 1 or Temperature 0 for greedy.)
	TopP float32

	// MinP keeps the tokens whose probability is at least MinP times that of
	// the most likely token, i.e. logit >= maxLogit + ln(MinP). Range [0, 1];
	// 0 disables it, 1 keeps only the tokens tied for the top. The most likely
	// token always survives.
	MinP float32

	// RepeatPenalty is the CTRL repetition penalty (Keskar et al., 2019, with
	// llama.cpp's fix for negative logits): a token seen in the penalty window
	// has a positive logit divided by RepeatPenalty and a non-positive logit
	// multiplied by it. Range [0, +Inf); values above 1 discourage repetition.
	// 0 and 1 disable it.
	RepeatPenalty float32

	// FrequencyPenalty is subtracted from a token's logit once per occurrence
	// in the penalty window (OpenAI's frequency penalty). Any finite value;
	// negative values encourage repetition. 0 disables it.
	FrequencyPenalty float32

	// PresencePenalty is subtracted once from the logit of every token that
	// occurs in the penalty window at all. Any finite value; 0 disables it.
	PresencePenalty float32

	// RepeatLastN is the penalty window: the last RepeatLastN tokens of the
	// history passed to Sample. Range [0, +Inf); 0 means the whole history
	// slice (the caller chooses the window). llama.cpp's default is 64; unlike
	// llama.cpp, 0 does not disable the penalties.
	RepeatLastN int

	// Seed initializes the random source of the draw. Every value, 0 included,
	// is a fixed seed: the same Options and inputs give the same tokens.
	// Callers that want varying output pick a seed themselves.
	Seed uint64
}

// R1Defaults returns the sampling settings DeepSeek recommends for the
// DeepSeek-R1 family and its distills: temperature 0.6 (the middle of the
// 0.5–0.7 range the model cards give, to avoid endless repetition or
// incoherent output) and top-p 0.95. Every other field is zero: no top-k,
// min-p or penalties, and Seed 0.
func R1Defaults() Options {
	return Options{Temperature: 0.6, TopP: 0.95}
}

// ErrInvalidOptions is wrapped by the errors Validate returns.
var ErrInvalidOptions = errors.New("sample: invalid options")

// Validate reports the first field outside its documented range, wrapping
// ErrInvalidOptions. New never fails: it clamps such values (NaN and negative
// values switch a stage off, MinP above 1 becomes 1, an infinite temperature
// becomes the largest finite one), so Validate is for rejecting bad requests
// with a message rather than for safety.
func (o Options) Validate() error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("%w: %s = %v, want %s", ErrInvalidOptions, field, v, want)
	}
	switch {
	case isNaN(o.Temperature) || o.Temperature < 0 || math.IsInf(float64(o.Temperature), 0):
		return bad("Temperature", o.Temperature, "a finite value >= 0")
	case o.TopK < 0:
		return bad("TopK", o.TopK, ">= 0")
	case !(o.TopP >= 0 && o.TopP <= 1):
		return bad("TopP", o.TopP, "a value in [0, 1]")
	case !(o.MinP >= 0 && o.MinP <= 1):
		return bad("MinP", o.MinP, "a value in [0, 1]")
	case isNaN(o.RepeatPenalty) || o.RepeatPenalty < 0 || math.IsInf(float64(o.RepeatPenalty), 0):
		return bad("RepeatPenalty", o.RepeatPenalty, "a finite value >= 0")
	case !isFinite(o.FrequencyPenalty):
		return bad("FrequencyPenalty", o.FrequencyPenalty, "a finite value")
	case !isFinite(o.PresencePenalty):
		return bad("PresencePenalty", o.PresencePenalty, "a finite value")
	case o.RepeatLastN < 0:
		return bad("RepeatLastN", o.RepeatLastN, ">= 0")
	}
	return nil
}

// normalized returns o with every out-of-range value mapped to the behaviour
// documented on New, so the sampling code needs no further checks.
func (o Options) normalized() Options {
	if isNaN(o.Temperature) || o.Temperature < 0 {
		o.Temperature = 0
	}
	if math.IsInf(float64(o.Temperature), 1) {
		o.Temperature = math.MaxFloat32
	}
	if o.TopK < 0 {
		o.TopK = 0
	}
	if !(o.TopP > 0 && o.TopP < 1) {
		o.TopP = 0
	}
	if !(o.MinP > 0) {
		o.MinP = 0
	}
	if o.MinP > 1 {
		o.MinP = 1
	}
	if !(o.RepeatPenalty > 0) || math.IsInf(float64(o.RepeatPenalty), 0) {
		o.RepeatPenalty = 1
	}
	if !isFinite(o.FrequencyPenalty) {
		o.FrequencyPenalty = 0
	}
	if !isFinite(o.PresencePenalty) {
		o.PresencePenalty = 0
	}
	if o.RepeatLastN < 0 {
		o.RepeatLastN = 0
	}
	return o
}

// penalized reports whether o (normalized) changes any logit from history.
func (o *Options) penalized() bool {
	return o.RepeatPenalty != 1 || o.FrequencyPenalty != 0 || o.PresencePenalty != 0
}

func isNaN(x float32) bool { return x != x }

func isFinite(x float32) bool { return !isNaN(x) && !math.IsInf(float64(x), 0) }
