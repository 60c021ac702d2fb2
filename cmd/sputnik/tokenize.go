package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/tokenizer"
	"github.com/sputnik-llm/sputnik/internal/tokenizer/hf"
)

// runTokenize prints the token ids of a text under a model's tokenizer.
//
//	sputnik tokenize (-m MODEL.gguf | --tokenizer-json FILE) [--no-bos] [--no-special] [--pieces] [--json] (TEXT | -f FILE)
//
// The tokenizer is the GGUF file's vocabulary (-m) or a Hugging Face
// tokenizer.json (--tokenizer-json), read together with the
// tokenizer_config.json beside it when there is one (BOS/EOS settings).
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
	hfPath := fs.String("tokenizer-json", "", "Hugging Face tokenizer.json to use instead of a GGUF's vocabulary")
	file := fs.String("f", "", "read the text from FILE instead of the arguments")
	noBOS := fs.Bool("no-bos", false, "do not add BOS/EOS tokens")
	noSpecial := fs.Bool("no-special", false, "treat special-token text as plain text")
	pieces := fs.Bool("pieces", false, "show each token's text")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: sputnik tokenize (-m MODEL.gguf | --tokenizer-json FILE) [--no-bos] [--no-special] [--pieces] [--json] (TEXT | -f FILE)")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *modelPath == "" && *hfPath == "":
		return usageError{"missing -m MODEL.gguf or --tokenizer-json FILE"}
	case *modelPath != "" && *hfPath != "":
		return usageError{"give either -m MODEL.gguf or --tokenizer-json FILE, not both"}
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

	var tok *tokenizer.Tokenizer
	if *hfPath != "" {
		tok, err = loadHFTokenizer(*hfPath)
	} else {
		tok, err = loadGGUFTokenizer(*modelPath)
	}
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

// loadGGUFTokenizer reads the tokenizer of the GGUF file at path.
func loadGGUFTokenizer(path string) (*tokenizer.Tokenizer, error) {
	f, err := openGGUF(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return tokenizer.FromGGUF(f)
}

// loadHFTokenizer reads the Hugging Face tokenizer.json at path and, when
// present, the tokenizer_config.json in the same directory.
func loadHFTokenizer(path string) (*tokenizer.Tokenizer, error) {
	tj, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cj, err := os.ReadFile(filepath.Join(filepath.Dir(path), "tokenizer_config.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	tok, err := hf.FromHF(tj, cj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tok, nil
}
