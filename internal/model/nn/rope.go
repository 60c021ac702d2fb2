package nn

import "math"

// Rope describes a rotary position embedding.
//
// Angles follow ggml's rope: for pair i (0 ≤ i < Dims/2) at position p,
// θ_extrap = p · Base^(−2i/Dims) (the power taken by repeated float32
// multiplication, as ggml does), divided by FreqFactors[i] when present;
// θ_interp = FreqScale · θ_extrap. Without YaRN (ExtFactor 0) θ = θ_interp.
// With YaRN (Peng et al. 2023, "YaRN: Efficient Context Window Extension"),
// θ blends θ_interp and θ_extrap by a ramp over the correction dims
// [low, high], and cos/sin are multiplied by
// AttnFactor · (1 + 0.1·ln(1/FreqScale)).
type Rope struct {
	Dims        int       // rotated dimensions per head (even)
	Neox        bool      // pair (x[i], x[i+Dims/2]) instead of (x[2i], x[2i+1])
	Base        float32   // θ base ({arch}.rope.freq_base)
	FreqScale   float32   // 1/scaling factor (1 when unscaled)
	FreqFactors []float32 // [Dims/2] divisors of the frequencies (rope_freqs.weight), or nil
	ExtFactor   float32   // YaRN extrapolation mix (0 disables YaRN)
	AttnFactor  float32   // YaRN magnitude multiplier (1 normally)
	BetaFast    float32   // YaRN β_fast (32)
	BetaSlow    float32   // YaRN β_slow (1)
	OrigCtx     int       // context length the model was trained with before scaling
}

// corrDims returns YaRN's correction range [low, high] in pair indices.
func (r *Rope) corrDims() (low, high float32) {
	corr := func(nRot float32) float32 {
		return float32(r.Dims) * float32(math.Log(float64(float32(r.OrigCtx)/(nRot*2*math.Pi)))) / (2 * float32(math.Log(float64(r.Base))))
	}
	low = float32(math.Max(0, math.Floor(float64(corr(r.BetaFast)))))
	high = float32(math.Min(float64(r.Dims-1), math.Ceil(float64(corr(r.BetaSlow)))))
	return low, high
}

// Tables fills cos and sin ([len(pos)][Dims/2]) with the rotation of every
// pair at each position.
func (r *Rope) Tables(cos, sin []float32, pos []int32) {
	half := r.Dims / 2
	thetaScale := float32(math.Pow(float64(r.Base), -2/float64(r.Dims)))
	var low, high float32
	mscale := r.AttnFactor
	if mscale == 0 {
		mscale = 1
	}
	if r.ExtFactor != 0 {
		low, high = r.corrDims()
		mscale *= 1 + 0.1*float32(math.Log(float64(1/r.FreqScale)))
	}
	for t, p := range pos {
		thetaExtrap := float32(p)
		c, s := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
		for i := range half {
			te := thetaExtrap
			if r.FreqFactors != nil {
				te /= r.FreqFactors[i]
			}
			theta := r.FreqScale * te
			if r.ExtFactor != 0 {
				y := (float32(i) - low) / max(0.001, high-low)
				ramp := (1 - min(1, max(0, y))) * r.ExtFactor
				theta = theta*(1-ramp) + te*ramp
			}
			c[i] = float32(math.Cos(float64(theta))) * mscale
			s[i] = float32(math.Sin(float64(theta))) * mscale
			thetaExtrap *= thetaScale
		}
	}
}

// Apply rotates the first Dims values of each of the nHeads vectors in x
// ([nHeads][stride]) with one position's cos and sin rows ([Dims/2]).
func (r *Rope) Apply(x []float32, nHeads, stride int, cos, sin []float32) {
	half := r.Dims / 2
	for h := range nHeads {
		v := x[h*stride : h*stride+r.Dims]
		if r.Neox {
			for i := range half {
				a, b := v[i], v[i+half]
				v[i] = a*cos[i] - b*sin[i]
				v[i+half] = a*sin[i] + b*cos[i]
			}
		} else {
			for i := range half {
				a, b := v[2*i], v[2*i+1]
				v[2*i] = a*cos[i] - b*sin[i]
				v[2*i+1] = a*sin[i] + b*cos[i]
			}
		}
	}
}
