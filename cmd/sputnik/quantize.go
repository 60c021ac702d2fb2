package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/quantize"
)

// runQuantize converts a model: sputnik quantize IN.gguf OUT.gguf TYPE.
func runQuantize(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quantize", stderr)
	pure := fs.Bool("pure", false, "every quantizable tensor gets TYPE's base type (llama-quantize --pure): no mix")
	requant := fs.Bool("allow-requantize", false, "accept an input that is already quantized")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		var names []string
		for _, ft := range quantize.FileTypes() {
			names = append(names, ft.Name)
		}
		return usageError{"usage: sputnik quantize [--pure] [--allow-requantize] IN.gguf OUT.gguf TYPE\n  TYPE: " + strings.Join(names, ", ")}
	}
	ft, err := quantize.ParseFileType(pos[2])
	if err != nil {
		return usageError{err.Error()}
	}
	inPath, err := resolveModel(pos[0])
	if err != nil {
		return err
	}
	in, err := gguf.Open(inPath)
	if err != nil {
		return err
	}
	defer in.Close()
	fmt.Fprintf(stderr, "quantizing %s to %s (%s)\n", inPath, pos[1], ft.Name)
	return quantize.File(in, pos[1], quantize.Options{Type: ft, Pure: *pure, AllowRequantize: *requant, Progress: stderr})
}
