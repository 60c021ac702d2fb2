// Package quantize converts a GGUF model to another weight type the way
// llama.cpp's llama-quantize does: the same file-type names (Q4_K_M, Q8_0,
// …), the same per-tensor type choices for the mixes (Plan, a port of
// llama_tensor_get_type in llama.cpp's src/llama-quant.cpp), and the bytes
// of ggml's quantizers without an importance matrix (tensor.Quantize).
// File streams one tensor at a time from the memory-mapped input to the
// output, so the model is never held in memory.
//
// In the layout of STYLE.md it sits beside hub as a tool package: it imports
// gguf, tensor and parallel; cmd/sputnik's quantize command uses it.
package quantize

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// FileType is one of llama.cpp's llama_ftype values: the name
// llama-quantize accepts, the id stored as general.file_type and the
// default tensor type of the mix.
type FileType struct {
	Name    string
	ID      uint32
	Default tensor.DType
}

// fileTypes are the supported file types (llama.h's llama_ftype).
var fileTypes = []FileType{
	{"F32", 0, tensor.F32},
	{"F16", 1, tensor.F16},
	{"BF16", 32, tensor.BF16},
	{"Q4_0", 2, tensor.Q4_0},
	{"Q4_1", 3, tensor.Q4_1},
	{"Q5_0", 8, tensor.Q5_0},
	{"Q5_1", 9, tensor.Q5_1},
	{"Q8_0", 7, tensor.Q8_0},
	{"Q2_K", 10, tensor.Q2_K},
	{"Q3_K_S", 11, tensor.Q3_K},
	{"Q3_K_M", 12, tensor.Q3_K},
	{"Q3_K_L", 13, tensor.Q3_K},
	{"Q4_K_S", 14, tensor.Q4_K},
	{"Q4_K_M", 15, tensor.Q4_K},
	{"Q5_K_S", 16, tensor.Q5_K},
	{"Q5_K_M", 17, tensor.Q5_K},
	{"Q6_K", 18, tensor.Q6_K},
	{"IQ4_NL", 25, tensor.IQ4_NL},
	{"IQ4_XS", 30, tensor.IQ4_XS},
}

// unsupported are llama-quantize's other type names, with the reason.
var unsupported = map[string]string{
	"Q2_K_S":    "needs an importance matrix",
	"IQ1_S":     "no IQ1_S quantizer yet (and it needs an importance matrix)",
	"IQ1_M":     "no IQ1_M quantizer yet (and it needs an importance matrix)",
	"IQ2_XXS":   "no IQ2_XXS quantizer yet (and it needs an importance matrix)",
	"IQ2_XS":    "no IQ2_XS quantizer yet (and it needs an importance matrix)",
	"IQ2_S":     "no IQ2_XS/IQ2_S quantizer yet",
	"IQ2_M":     "no IQ2_S quantizer yet",
	"IQ3_XXS":   "no IQ3_XXS quantizer yet",
	"IQ3_XS":    "no IQ3_S quantizer yet",
	"IQ3_S":     "no IQ3_S quantizer yet",
	"IQ3_M":     "no IQ3_S quantizer yet",
	"TQ1_0":     "no ternary quantizer",
	"TQ2_0":     "no ternary quantizer",
	"MXFP4_MOE": "not offered yet",
}

// FileTypes returns the supported file types in menu order.
func FileTypes() []FileType { return append([]FileType(nil), fileTypes...) }

// ParseFileType returns the file type named name (case-insensitive, as
// llama-quantize's names: "Q4_K_M", "q8_0"). Unknown and unsupported names
// are errors that list what is supported.
func ParseFileType(name string) (FileType, error) {
	u := strings.ToUpper(name)
	for _, ft := range fileTypes {
		if ft.Name == u {
			return ft, nil
		}
	}
	var names []string
	for _, ft := range fileTypes {
		names = append(names, ft.Name)
	}
	if why, ok := unsupported[u]; ok {
		return FileType{}, fmt.Errorf("quantize: %s is not supported: %s (supported: %s)", u, why, strings.Join(names, ", "))
	}
	var other []string
	for n := range unsupported {
		other = append(other, n)
	}
	sort.Strings(other)
	return FileType{}, fmt.Errorf("quantize: unknown type %q (supported: %s; not supported yet: %s)", name, strings.Join(names, ", "), strings.Join(other, ", "))
}
