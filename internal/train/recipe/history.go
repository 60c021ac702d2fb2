package recipe

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// historyHeader is the first row of a history file.
var historyHeader = []string{"phase", "step", "loss", "reward", "accuracy"}

// writeHistory writes h as CSV (accuracy -1 where no evaluation ran).
func writeHistory(path string, h []Point) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("recipe: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write(historyHeader)
	for _, p := range h {
		w.Write([]string{p.Phase, strconv.Itoa(p.Step), ff(p.Loss), ff(p.Reward), ff(p.Accuracy)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("recipe: %s: %w", path, err)
	}
	return f.Close()
}

func ff(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }

// readHistory reads a history file; a missing file is an empty history.
func readHistory(path string) ([]Point, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	defer f.Close()
	return ReadHistory(f, path)
}

// ReadHistory parses a history CSV written by a run (name is used in
// errors).
func ReadHistory(f *os.File, name string) ([]Point, error) {
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("recipe: %s: %w", name, err)
	}
	if len(rows) == 0 || len(rows[0]) != len(historyHeader) || rows[0][0] != historyHeader[0] {
		return nil, fmt.Errorf("recipe: %s is not a training history", name)
	}
	h := make([]Point, 0, len(rows)-1)
	for i, r := range rows[1:] {
		var p Point
		var errs [4]error
		p.Phase = r[0]
		p.Step, errs[0] = strconv.Atoi(r[1])
		p.Loss, errs[1] = strconv.ParseFloat(r[2], 64)
		p.Reward, errs[2] = strconv.ParseFloat(r[3], 64)
		p.Accuracy, errs[3] = strconv.ParseFloat(r[4], 64)
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("recipe: %s line %d: %w", name, i+2, err)
		}
		h = append(h, p)
	}
	return h, nil
}
