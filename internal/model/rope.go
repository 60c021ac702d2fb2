package model

import (
	"fmt"

	"github.com/sputnik-llm/sputnik/internal/model/nn"
)

// RopeFromMetadata reads the rotary-embedding settings shared by the dense
// architectures: {arch}.rope.freq_base, {arch}.rope.scaling.{type, factor,
// original_context_length, attn_factor} (or the older rope.scale_linear), and
// the optional rope_freqs.weight frequency divisors (Llama 3.1 scaling).
// dims is the number of rotated dimensions per head.
func (ld *Loader) RopeFromMetadata(dims int, neox bool) nn.Rope {
	r := nn.Rope{
		Dims:       dims,
		Neox:       neox,
		Base:       ld.FloatOr("rope.freq_base", 10000),
		FreqScale:  1,
		AttnFactor: ld.FloatOr("rope.scaling.attn_factor", 1),
		BetaFast:   32,
		BetaSlow:   1,
		OrigCtx:    ld.IntOr("rope.scaling.original_context_length", ld.IntOr("context_length", 0)),
	}
	if dims <= 0 || dims%2 != 0 {
		ld.Failf("model: %s.rope.dimension_count = %d must be positive and even", ld.Arch, dims)
	}
	factor := ld.FloatOr("rope.scaling.factor", 0)
	if f := ld.FloatOr("rope.scale_linear", 0); factor == 0 && f != 0 {
		factor = f
	}
	typ := ld.StringOr("rope.scaling.type", "")
	switch typ {
	case "", "none":
		if factor != 0 && factor != 1 && typ == "" {
			r.FreqScale = 1 / factor // rope.scale_linear
		}
	case "linear":
		if factor > 0 {
			r.FreqScale = 1 / factor
		}
	case "yarn":
		if factor > 0 {
			r.FreqScale = 1 / factor
		}
		r.ExtFactor = 1
		if r.OrigCtx <= 0 {
			ld.Failf("model: YaRN scaling needs %s.rope.scaling.original_context_length", ld.Arch)
		}
	default:
		ld.Failf("model: %s.rope.scaling.type %q is not supported (want none, linear or yarn)", ld.Arch, typ)
	}
	if ld.Has("rope_freqs.weight") {
		r.FreqFactors = ld.Vec("rope_freqs.weight", dims/2)
	}
	if ld.Err() == nil && r.Base <= 0 {
		ld.Fail(fmt.Errorf("model: %s.rope.freq_base = %v must be positive", ld.Arch, r.Base))
	}
	return r
}
