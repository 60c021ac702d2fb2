package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

var quantWrite = flag.String("quant.write", "", "write the testdata/quant fixture GGUFs into this directory (to record their goldens with golden.mjs) and skip the comparison")

// quantTypes are the weight types with a fixture in testdata/quant: every
// type that tensor.Quantize writes and kernel.MatMul computes with, except
// Q8_1 and Q8_K (activation-only types that llama.cpp does not use for
// weights) and MXFP4 (llama.cpp's CPU backend supports it only for
// gpt-oss-style expert tensors; not yet implemented here).
var quantTypes = []tensor.DType{
	tensor.F32, tensor.F16, tensor.BF16,
	tensor.Q4_0, tensor.Q4_1, tensor.Q5_0, tensor.Q5_1, tensor.Q8_0,
	tensor.Q2_K, tensor.Q3_K, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K,
	tensor.IQ4_NL, tensor.IQ4_XS,
}

// TestQuantGolden proves every weight type end to end against llama.cpp
// without needing llama.cpp or ../shared: for each type it regenerates the
// tiny llama fixture (testutil.QuantFixture) into a temporary directory,
// checks that its SHA-256 is the one llama.cpp's goldens were recorded on,
// and applies the golden README's rules with checkGolden (the exact rule for
// F32/F16/BF16 files, the quantized-file rule otherwise) to two golden sets:
// testdata/quant/<name>.json (golden.mjs's 4 default prompts × 32 tokens)
// and testdata/quant/extra/<name>.json (12 more prompts × 8 tokens, so the
// quantized rule, which looks at the first token only, has more cases).
// testdata/quant/README.md says how to re-record them.
func TestQuantGolden(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(t), "testdata", "quant")
	if *quantWrite != "" {
		if err := os.MkdirAll(*quantWrite, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, typ := range quantTypes {
			fx := testutil.QuantFixture(typ)
			if err := fx.WriteFile(filepath.Join(*quantWrite, fx.Name()+".gguf")); err != nil {
				t.Fatal(err)
			}
		}
		t.Skipf("fixtures written to %s; record goldens with golden.mjs, then rerun without -quant.write", *quantWrite)
	}
	for _, typ := range quantTypes {
		t.Run(typ.String(), func(t *testing.T) {
			fx := testutil.QuantFixture(typ)
			path := filepath.Join(t.TempDir(), fx.Name()+".gguf")
			if err := fx.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			sum := fileSHA256(t, path)
			for _, set := range []string{"", "extra"} {
				gf := filepath.Join(dir, set, fx.Name()+".json")
				b, err := os.ReadFile(gf)
				if err != nil {
					t.Fatalf("no golden for %s: %v", typ, err)
				}
				var g golden
				if err := json.Unmarshal(b, &g); err != nil {
					t.Fatalf("%s: %v", gf, err)
				}
				if sum != g.ModelSHA256 {
					t.Fatalf("regenerated %s has sha256 %s, but %s was recorded on %s: the generator or tensor.Quantize changed its output (re-record the goldens if that is intended)", g.Model, sum, gf, g.ModelSHA256)
				}
				checkGolden(t, path, &g)
			}
		})
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
