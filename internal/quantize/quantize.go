package quantize

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Options are the options of File.
type Options struct {
	Type FileType
	// Pure gives every quantizable tensor Type's default type, as
	// llama-quantize --pure does (no mix; the block-size fallback still
	// applies).
	Pure bool
	// AllowRequantize accepts an input whose tensors are already quantized
	// (they are dequantized first, which loses precision twice).
	AllowRequantize bool
	// Progress receives one line per tensor and a summary (nil: none).
	Progress io.Writer
}

// quantizationVersion is ggml's GGML_QNT_VERSION, stored as
// general.quantization_version.
const quantizationVersion = 2

// chunkValues bounds the values converted at once (16 MiB of float32).
const chunkValues = 4 << 20

// File writes in, converted as opt says, to the file out (created or
// truncated; removed again on error). Metadata is copied, except the split
// keys (the output is one file), with general.file_type set to the file
// type's id and general.quantization_version to 2. Tensors are written in
// the order of Plan, each converted in chunks of rows straight from in's
// mapping, so memory use stays at a few chunks.
func File(in *gguf.File, out string, opt Options) error {
	plan, err := Plan(in, opt.Type, opt.Pure)
	if err != nil {
		return err
	}
	for _, c := range plan {
		if c.From == c.To {
			continue
		}
		if c.From.Quantized() && !opt.AllowRequantize {
			return fmt.Errorf("quantize: tensor %q is already %s: requantizing loses precision twice (use --allow-requantize to do it anyway)", c.Name, c.From)
		}
		if !tensor.CanDequantize(c.From) {
			return fmt.Errorf("quantize: tensor %q: cannot read %s", c.Name, c.From)
		}
		if !tensor.CanQuantize(c.To) {
			return fmt.Errorf("quantize: tensor %q: %s would need %s, which has no quantizer here", c.Name, opt.Type.Name, c.To)
		}
	}
	w := gguf.NewWriter()
	for _, kv := range in.KV {
		switch kv.Key {
		case gguf.KeySplitNo, gguf.KeySplitCount, gguf.KeySplitTensors:
			continue
		}
		w.AddKV(kv.Key, kv.Value)
	}
	w.AddKV("general.quantization_version", uint32(quantizationVersion))
	w.AddKV("general.file_type", opt.Type.ID)

	prog := &progress{w: opt.Progress, n: len(plan), start: time.Now()}
	for i, c := range plan {
		ti, _ := in.Tensor(c.Name)
		src := in.TensorData(ti)
		w.AddTensorFunc(c.Name, c.To, c.Shape, func(dst io.Writer) error {
			prog.tensor(i, c, int64(len(src)))
			if c.From == c.To {
				_, err := dst.Write(src)
				return err
			}
			return convert(dst, c, src)
		})
	}
	fh, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	_, err = w.WriteTo(fh)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("quantize: %s: %w", out, err)
	}
	prog.summary(out)
	return nil
}

// convert writes the rows of src (type c.From) converted to c.To.
func convert(dst io.Writer, c Choice, src []byte) error {
	rowLen := int(c.Shape[0])
	rows := 1
	for _, d := range c.Shape[1:] {
		rows *= int(d)
	}
	inRow, err := tensor.RowBytes(c.From, rowLen)
	if err != nil {
		return err
	}
	outRow, err := tensor.RowBytes(c.To, rowLen)
	if err != nil {
		return err
	}
	chunk := max(1, chunkValues/rowLen)
	f32 := make([]float32, min(chunk, rows)*rowLen) // [chunkRows][rowLen]
	buf := make([]byte, min(chunk, rows)*outRow)    // [chunkRows][outRow]
	for r0 := 0; r0 < rows; r0 += chunk {
		n := min(chunk, rows-r0)
		var firstErr error
		errs := make([]error, n)
		parallel.For(n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				x := f32[r*rowLen : (r+1)*rowLen]
				in := src[(r0+r)*inRow : (r0+r+1)*inRow]
				if err := tensor.Dequantize(c.From, x, in); err != nil {
					errs[r] = err
					return
				}
				if err := tensor.Quantize(c.To, buf[r*outRow:(r+1)*outRow], x); err != nil {
					errs[r] = err
					return
				}
			}
		})
		for _, e := range errs {
			if e != nil && firstErr == nil {
				firstErr = e
			}
		}
		if firstErr != nil {
			return firstErr
		}
		if _, err := dst.Write(buf[:n*outRow]); err != nil {
			return err
		}
	}
	return nil
}

// progress prints llama-quantize-like lines: index, name, shape, types and
// sizes.
type progress struct {
	w             io.Writer
	n             int
	start         time.Time
	inBytes, outB int64
}

func (p *progress) tensor(i int, c Choice, inBytes int64) {
	n := uint64(1)
	for _, d := range c.Shape {
		n *= d
	}
	outBytes, _ := tensor.RowBytes(c.To, int(n))
	p.inBytes += inBytes
	p.outB += int64(outBytes)
	if p.w == nil {
		return
	}
	conv := c.From.String()
	if c.From != c.To {
		conv += " -> " + c.To.String()
	}
	fmt.Fprintf(p.w, "[%4d/%4d] %-36s %-20s %-14s %9s -> %9s\n", i+1, p.n, c.Name, fmt.Sprint(c.Shape), conv, mib(inBytes), mib(int64(outBytes)))
}

func (p *progress) summary(out string) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "wrote %s: tensors %s -> %s in %.1f s\n", out, mib(p.inBytes), mib(p.outB), time.Since(p.start).Seconds())
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
