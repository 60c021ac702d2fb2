// Command sputnik runs DeepSeek-R1-family models from GGUF files.
//
// Usage:
//
//	sputnik <command> [flags] [args]
//
// Each subcommand lives in its own file (info.go, tokenize.go, …) as a
// function with the signature of command.run.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// command is one subcommand of the sputnik binary.
type command struct {
	name  string
	usage string // one line shown in the menu
	run   func(args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand in menu order.
func commands() []command {
	return []command{
		{"info", "show a GGUF file's metadata and tensors", runInfo},
		{"generate", "generate text from a prompt or token ids", runGenerate},
		{"run", "chat with a model in the terminal", runRun},
		{"serve", "serve the OpenAI/DeepSeek API over HTTP", runServe},
		{"bench", "measure prefill and decode speed", runBench},
		{"tokenize", "print the token ids of a text", runTokenize},
		{"template", "render a chat template (prompt for a conversation)", runTemplate},
		{"pull", "download a model from Hugging Face into the model store", runPull},
		{"list", "list the models in the store", runList},
		{"ls", "same as list", runList},
		{"rm", "delete a model from the store", runRm},
		{"quantize", "convert a GGUF model to another weight type (Q4_K_M, Q8_0, …)", runQuantize},
	}
}

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the command line args and returns the process exit code:
// 0 on success, 1 on a failed command, 2 on a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		menu(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "sputnik %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "sputnik %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "sputnik: unknown command %q\n", args[0])
	menu(stderr)
	return 2
}

func menu(w io.Writer) {
	fmt.Fprintln(w, "Sputnik runs DeepSeek-R1-family models from GGUF files.")
	fmt.Fprintln(w, "\nUsage: sputnik <command> [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'sputnik <command> -h' for a command's flags.")
}

// usageError marks a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// newFlags returns a FlagSet for a subcommand that reports errors instead of
// exiting, with its output going to stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sputnik "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args with fs, allowing flags after positional arguments
// (as in "sputnik info model.gguf --json"). It returns the positional args.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
