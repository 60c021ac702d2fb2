package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// summarizeAbove is the array length above which metadata arrays are shown
// as {type, len} instead of in full.
const summarizeAbove = 16

func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("info", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	noTensors := fs.Bool("no-tensors", false, "omit the tensor table")
	modelPath := modelFlag(fs, "model GGUF file or pulled model name (or give it as the argument; default: the built-in model)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: sputnik info [--json] [--no-tensors] [MODEL.gguf | -m MODEL.gguf]")
		fmt.Fprintln(fs.Output(), "Without a model it shows the built-in one.")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *modelPath != "" {
		pos = append(pos, *modelPath)
	}
	if len(pos) == 0 {
		if name, _, ok := builtinModel(); ok {
			pos = []string{name}
		}
	}
	if len(pos) != 1 {
		return usageError{"want exactly one GGUF file (sputnik info MODEL.gguf)"}
	}
	f, err := openGGUF(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	sum := summarize(f)
	sum.file = f.Path
	if isBuiltin(pos[0]) {
		sum.file = describeModel(pos[0])
	}
	sum.model, sum.modelErr = modelFacts(f)
	if *asJSON {
		return writeInfoJSON(stdout, f, sum, !*noTensors)
	}
	writeInfoText(stdout, f, sum, !*noTensors)
	return nil
}

// fileSummary holds the facts derived from a GGUF file.
type fileSummary struct {
	file       string // the file's path, or how the built-in model is named
	arch, name string
	params     uint64
	fileType   string
	hist       map[tensor.DType]typeCount
	hparams    []hparam // architecture hyperparameters present in the file
	model      *model.Info
	modelErr   error // why the file does not load as a model, if it does not
}

// modelFacts builds the network (without reading weight data) to report
// what only the architecture knows: active parameters and KV cache size.
func modelFacts(f *gguf.File) (*model.Info, error) {
	if len(f.Tensors) == 0 {
		return nil, nil
	}
	m, err := models.New(f)
	if err != nil {
		return nil, err
	}
	info := m.Info()
	return &info, nil
}

type typeCount struct {
	tensors int
	params  uint64
	bytes   uint64
}

type hparam struct {
	label string
	key   string
	value gguf.Value
}

func summarize(f *gguf.File) fileSummary {
	s := fileSummary{arch: f.Architecture(), hist: map[tensor.DType]typeCount{}}
	s.name, _ = f.String("general.name")
	for i := range f.Tensors {
		t := &f.Tensors[i]
		n := t.Elements()
		s.params += n
		c := s.hist[t.Type]
		c.tensors++
		c.params += n
		c.bytes += t.Size
		s.hist[t.Type] = c
	}
	if ft, err := f.Int("general.file_type"); err == nil {
		s.fileType = fileTypeName(ft)
	}
	for _, h := range []struct{ label, suffix string }{
		{"context length", "context_length"},
		{"embedding length", "embedding_length"},
		{"layers", "block_count"},
		{"feed-forward length", "feed_forward_length"},
		{"attention heads", "attention.head_count"},
		{"KV heads", "attention.head_count_kv"},
		{"key length", "attention.key_length"},
		{"value length", "attention.value_length"},
		{"rope dimensions", "rope.dimension_count"},
		{"rope base", "rope.freq_base"},
		{"rope scaling", "rope.scaling.type"},
		{"rope scaling factor", "rope.scaling.factor"},
		{"q LoRA rank", "attention.q_lora_rank"},
		{"kv LoRA rank", "attention.kv_lora_rank"},
		{"experts", "expert_count"},
		{"experts used", "expert_used_count"},
		{"shared experts", "expert_shared_count"},
		{"expert groups", "expert_group_count"},
		{"expert groups used", "expert_group_used_count"},
		{"expert FFN length", "expert_feed_forward_length"},
		{"leading dense layers", "leading_dense_block_count"},
		{"MTP layers", "nextn_predict_layers"},
	} {
		key := s.arch + "." + h.suffix
		if v, ok := f.Get(key); ok {
			s.hparams = append(s.hparams, hparam{h.label, key, v})
		}
	}
	return s
}

// fileTypeName names llama.cpp's general.file_type values (enum llama_ftype).
func fileTypeName(ft int64) string {
	names := map[int64]string{
		0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
		10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
		16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
		22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
		28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
		37: "TQ2_0", 38: "MXFP4_MOE",
	}
	if n, ok := names[ft]; ok {
		return n
	}
	return fmt.Sprintf("unknown (%d)", ft)
}

// sortedTypes returns the histogram's types, most parameters first.
func (s fileSummary) sortedTypes() []tensor.DType {
	var ts []tensor.DType
	for t := range s.hist {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool {
		a, b := s.hist[ts[i]], s.hist[ts[j]]
		if a.params != b.params {
			return a.params > b.params
		}
		return ts[i] < ts[j]
	})
	return ts
}

// humanCount formats a parameter count as 1.78B, 260.1K, ….
func humanCount(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func writeInfoText(w io.Writer, f *gguf.File, s fileSummary, tensors bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s (%s, GGUF v%d)\n", s.file, humanBytes(uint64(f.Size)), f.Version)
	fmt.Fprintf(tw, "architecture\t%s\n", orDash(s.arch))
	fmt.Fprintf(tw, "name\t%s\n", orDash(s.name))
	fmt.Fprintf(tw, "parameters\t%s (%d)\n", humanCount(s.params), s.params)
	fmt.Fprintf(tw, "file type\t%s\n", orDash(s.fileType))
	if s.model != nil {
		fmt.Fprintf(tw, "active parameters\t%s per token\n", humanCount(s.model.ActiveParams))
		fmt.Fprintf(tw, "KV cache\t%s per token (f16)\n", humanBytes(uint64(s.model.KVLayout.BytesPerToken())))
	} else if s.modelErr != nil {
		fmt.Fprintf(tw, "runnable\tno: %v\n", s.modelErr)
	}
	for _, h := range s.hparams {
		fmt.Fprintf(tw, "%s\t%v\n", h.label, h.value.Any())
	}
	if tm, err := f.String("tokenizer.ggml.model"); err == nil {
		n := 0
		if v, ok := f.Get("tokenizer.ggml.tokens"); ok {
			n = v.Len()
		}
		pre, _ := f.String("tokenizer.ggml.pre")
		fmt.Fprintf(tw, "tokenizer\t%s, %d tokens, pre %s\n", tm, n, orDash(pre))
	}
	tw.Flush()

	if len(f.Tensors) > 0 {
		fmt.Fprintf(w, "\ntensor types:\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "type\ttensors\tparameters\tbytes\t\n")
		for _, t := range s.sortedTypes() {
			c := s.hist[t]
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t\n", t, c.tensors, humanCount(c.params), humanBytes(c.bytes))
		}
		tw.Flush()
	}

	fmt.Fprintf(w, "\nmetadata (%d keys):\n", len(f.KV))
	for _, kv := range f.KV {
		fmt.Fprintf(w, "  %s = %s\n", kv.Key, metaText(kv.Value))
	}
	if tensors && len(f.Tensors) > 0 {
		fmt.Fprintf(w, "\ntensors (%d; shapes innermost first, as in GGUF):\n", len(f.Tensors))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  name\ttype\tshape\toffset\tbytes\n")
		for i := range f.Tensors {
			t := &f.Tensors[i]
			fmt.Fprintf(tw, "  %s\t%s\t%v\t%d\t%d\n", t.Name, t.Type, t.Shape, t.Offset, t.Size)
		}
		tw.Flush()
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// metaText renders one metadata value for the text listing.
func metaText(v gguf.Value) string {
	if v.Type == gguf.TypeArray {
		if v.Len() > summarizeAbove {
			return fmt.Sprintf("[%s × %d]", v.Elem, v.Len())
		}
		return fmt.Sprintf("%v", v.Any())
	}
	if s, ok := v.Any().(string); ok {
		if len(s) > 120 {
			s = s[:120] + fmt.Sprintf("… (%d bytes)", len(s))
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%v", v.Any())
}

// metaJSON converts a metadata value to something encoding/json can write:
// arrays longer than summarizeAbove become {"type", "len"}; non-finite
// floats become strings.
func metaJSON(v gguf.Value) any {
	if v.Type == gguf.TypeArray {
		if v.Len() > summarizeAbove {
			return map[string]any{"type": v.Elem.String(), "len": v.Len()}
		}
		if nested, ok := v.Any().([]gguf.Value); ok {
			out := make([]any, len(nested))
			for i, x := range nested {
				out[i] = metaJSON(x)
			}
			return out
		}
		switch a := v.Any().(type) {
		case []float32:
			out := make([]any, len(a))
			for i, x := range a {
				out[i] = jsonFloat(float64(x))
			}
			return out
		case []float64:
			out := make([]any, len(a))
			for i, x := range a {
				out[i] = jsonFloat(x)
			}
			return out
		case []uint8: // encoding/json would write base64
			out := make([]int, len(a))
			for i, x := range a {
				out[i] = int(x)
			}
			return out
		}
		return v.Any()
	}
	switch x := v.Any().(type) {
	case float32:
		return jsonFloat(float64(x))
	case float64:
		return jsonFloat(x)
	}
	return v.Any()
}

func jsonFloat(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Sprint(x)
	}
	return x
}

func writeInfoJSON(w io.Writer, f *gguf.File, s fileSummary, tensors bool) error {
	type tensorJSON struct {
		Name   string   `json:"name"`
		Type   string   `json:"type"`
		Shape  []uint64 `json:"shape"`
		Offset uint64   `json:"offset"`
		Bytes  uint64   `json:"bytes"`
	}
	type typeJSON struct {
		Tensors    int    `json:"tensors"`
		Parameters uint64 `json:"parameters"`
		Bytes      uint64 `json:"bytes"`
	}
	meta := make(map[string]any, len(f.KV))
	for _, kv := range f.KV {
		meta[kv.Key] = metaJSON(kv.Value)
	}
	hist := map[string]typeJSON{}
	for t, c := range s.hist {
		hist[t.String()] = typeJSON{c.tensors, c.params, c.bytes}
	}
	hp := map[string]any{}
	for _, h := range s.hparams {
		hp[strings.TrimPrefix(h.key, s.arch+".")] = metaJSON(h.value)
	}
	out := map[string]any{
		"file":            s.file,
		"file_bytes":      f.Size,
		"gguf_version":    f.Version,
		"architecture":    s.arch,
		"name":            s.name,
		"parameters":      s.params,
		"file_type":       s.fileType,
		"tensor_count":    len(f.Tensors),
		"tensor_types":    hist,
		"hyperparameters": hp,
		"metadata":        meta,
	}
	if sum := s.model; sum != nil {
		out["active_parameters"] = sum.ActiveParams
		out["kv_bytes_per_token"] = sum.KVLayout.BytesPerToken()
	} else if s.modelErr != nil {
		out["runnable_error"] = s.modelErr.Error()
	}
	if tensors {
		ts := make([]tensorJSON, len(f.Tensors))
		for i := range f.Tensors {
			t := &f.Tensors[i]
			ts[i] = tensorJSON{t.Name, t.Type.String(), t.Shape, t.Offset, t.Size}
		}
		out["tensors"] = ts
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
