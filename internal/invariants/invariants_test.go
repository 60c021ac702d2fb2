package invariants

import (
	"math"
	"strings"
	"testing"
)

func TestFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name string
		x    []float32
		want string // panic message fragment; "" for no panic
	}{
		{"empty", nil, ""},
		{"finite", []float32{0, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}, ""},
		{"nan", []float32{1, 2, nan}, "l_out of layer 3: element 2 of 3 is NaN"},
		{"+inf", []float32{inf, 0}, "l_out of layer 3: element 0 of 2 is +Inf"},
		{"-inf", []float32{0, -inf}, "l_out of layer 3: element 1 of 2 is -Inf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := func() (msg string) {
				defer func() {
					if r := recover(); r != nil {
						msg = r.(string)
					}
				}()
				Finite("l_out", 3, tc.x)
				return ""
			}()
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("got panic %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFiniteAllocs(t *testing.T) {
	x := make([]float32, 1024)
	if n := testing.AllocsPerRun(10, func() { Finite("x", 0, x) }); n != 0 {
		t.Errorf("got %v allocations, want 0", n)
	}
}
