package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// runTokenize prints the token ids of a text under a model's tokenizer.
//
//	sputnik tokenize -m MODEL.gguf [--no-bos] [--no-special] [--pieces] [--json] (TEXT | -f FILE)
//
// The ids are printed on one line separated by single spaces (the format of
// llama.cpp's .out test files, less their leading space); --json prints a
// JSON array instead. --pieces prints one token per line (id, then the
// token's text quoted as a Go string), or JSON objects {"id", "piece"}.
// --no-bos adds no BOS/EOS; --no-special reads control-token text such as
// "<|im_end|>" as plain text. A file's bytes are used exactly, with no
// newline trimmed.
func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tokenize", stderr)
	modelPath := modelFlag(fs, "GGUF model (or vocab-only) file")
	file := fs.String("f", "", "read the text from FILE instead of the arguments")
	noBOS := fs.Bool("no-bos", false, "do not add BOS/EOS tokens")
	noSpecial := fs.Bool("no-special", false, "treat special-token text as plain text")
	pieces := fs.Bool("pieces", false, "show each token's text")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: sputnik tokenize -m MODEL.gguf [--no-bos] [--no-special] [--pieces] [--json] (TEXT | -f FILE)")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *modelPath == "" {
		return missingModel("tokenize")
	}
	var text string
	switch {
	case *file != "" && len(pos) > 0:
		return usageError{"give either TEXT or -f FILE, not both"}
	case *file != "":
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		text = string(b)
	case len(pos) > 0:
		text = strings.Join(pos, " ")
	default:
		return usageError{"missing TEXT or -f FILE"}
	}

	f, err := openGGUF(*modelPath)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return err
	}
	ids := tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: !*noBOS, ParseSpecial: !*noSpecial})

	switch {
	case *asJSON && *pieces:
		type entry struct {
			ID    int32  `json:"id"`
			Piece string `json:"piece"`
		}
		out := make([]entry, len(ids))
		for i, id := range ids {
			out[i] = entry{id, tok.Piece(id)}
		}
		return json.NewEncoder(stdout).Encode(out)
	case *asJSON:
		if ids == nil {
			ids = []int32{}
		}
		return json.NewEncoder(stdout).Encode(ids)
	case *pieces:
		for _, id := range ids {
			if _, err := fmt.Fprintf(stdout, "%d\t%s\n", id, strconv.Quote(tok.Piece(id))); err != nil {
				return err
			}
		}
		return nil
	}
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(int64(id), 10))
	}
	b.WriteByte('\n')
	_, err = io.WriteString(stdout, b.String())
	return err
}
