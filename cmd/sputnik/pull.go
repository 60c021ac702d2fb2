package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/hub"
)

// runPull downloads a model into the store: sputnik pull NAME [--force].
func runPull(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pull", stderr)
	force := fs.Bool("force", false, "download even when the fit check finds too little free disk space")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: sputnik pull owner/repo[:QUANT] [--force]   (also hf.co/owner/repo:QUANT)"}
	}
	name, err := hub.ParseName(pos[0])
	if err != nil {
		return usageError{err.Error()}
	}
	store, err := hub.OpenStore()
	if err != nil {
		return err
	}
	c := hub.NewClient()
	c.Progress = stderr
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		c.TTY = true
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	m, err := store.Pull(ctx, c, name, hub.PullOptions{Force: *force, Log: stderr})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; run the same command again to resume the download")
		}
		return err
	}
	p, err := store.Path(m)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s in %s\n", m.Name, hub.HumanBytes(m.Size), p)
	return nil
}

// runList prints the built-in model and the store's models: sputnik list
// (or ls).
func runList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("list", stderr)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{"usage: sputnik list"}
	}
	name, data, builtIn := builtinModel()
	var ms []*hub.Manifest
	store, err := hub.OpenStore()
	if err == nil {
		ms, err = store.List()
	}
	if err != nil {
		if !builtIn {
			return err
		}
		fmt.Fprintf(stderr, "sputnik list: the model store: %v\n", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tQUANT\tMODIFIED")
	if builtIn {
		quant := "-"
		if f, err := gguf.ParseMetadata(data); err == nil {
			if ft, err := f.Int("general.file_type"); err == nil {
				quant = fileTypeName(ft)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, hub.HumanBytes(int64(len(data))), quant, "built in")
	}
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, hub.HumanBytes(m.Size), m.Quant, ago(time.Since(m.Pulled)))
	}
	return tw.Flush()
}

// ago formats an age as ollama's list does ("3 days ago").
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// runRm deletes a model from the store: sputnik rm NAME.
func runRm(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rm", stderr)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError{"usage: sputnik rm NAME..."}
	}
	store, err := hub.OpenStore()
	if err != nil {
		return err
	}
	for _, a := range pos {
		if name, _, ok := builtinModel(); ok && a == name {
			return usageError{fmt.Sprintf("%s is built into the binary and cannot be removed", a)}
		}
		n, err := hub.ParseName(a)
		if err != nil {
			return usageError{err.Error()}
		}
		m, err := store.Remove(n)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted %s\n", m.Name)
	}
	return nil
}

// resolveModel turns a -m argument into a file path: an existing path is
// used as it is; otherwise a store name (owner/repo[:QUANT], hf.co/…) is
// looked up in the model store. This is the one place where commands
// resolve model names.
func resolveModel(arg string) (string, error) {
	if _, err := os.Stat(arg); err == nil || !hub.LooksLikeName(arg) {
		return arg, nil
	}
	store, err := hub.OpenStore()
	if err != nil {
		return "", err
	}
	p, err := store.Resolve(arg)
	if errors.Is(err, hub.ErrNotPulled) {
		return "", fmt.Errorf("%s is neither a file nor a pulled model (sputnik pull %s; sputnik list)", arg, arg)
	}
	return p, err
}

// openGGUF opens the GGUF file, store name or built-in model arg.
func openGGUF(arg string) (*gguf.File, error) {
	if data, ok := builtinImage(arg); ok {
		return openBuiltin(data)
	}
	p, err := resolveModel(arg)
	if err != nil {
		return nil, err
	}
	return gguf.Open(filepath.Clean(p))
}
