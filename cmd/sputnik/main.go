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
	"strings"
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
		{"show", "same as info (ollama's name)", runInfo},
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
		{"train", "train a small reasoning model from scratch (SFT, then GRPO)", runTrain},
		{"eval", "measure a model's held-out accuracy on its training task", runEval},
		{"ps", "show what a running server has loaded", runPs},
		{"version", "print the version", runVersion},
	}
}

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the command line args and returns the process exit code:
// 0 on success, 1 on a failed command, 2 on a usage error, 130 when
// interrupted (Ctrl-C). Help goes to stdout, errors to stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		menu(stderr)
		return 2
	case args[0] == "help" && len(args) > 1: // sputnik help CMD
		args = []string{args[1], "-h"}
	case args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help":
		menu(stdout)
		return 0
	case args[0] == "--version" || args[0] == "-version" || args[0] == "-v":
		args[0] = "version"
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var help helpRequest
		switch {
		case err == nil:
			return 0
		case errors.As(err, &help):
			help.print(stdout)
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errInterrupted):
			return 130
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "sputnik %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "sputnik %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "sputnik: unknown command %q\nRun 'sputnik help' for the commands.\n", args[0])
	return 2
}

func menu(w io.Writer) {
	fmt.Fprintln(w, "Sputnik runs DeepSeek-R1-family models from GGUF files.")
	fmt.Fprintln(w, "\nUsage: sputnik <command> [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'sputnik help <command>' for a command's flags.")
}

// usageError marks a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// newFlags returns a FlagSet for a subcommand that reports errors instead of
// exiting. parseFlags keeps it quiet: errors become one line in Main, and
// -h returns a helpRequest whose help Main prints to stdout.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sputnik "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = nil // helpRequest's default, unless the command sets one
	return fs
}

// parseFlags parses args with fs, allowing flags after positional arguments
// (as in "sputnik info model.gguf --json"). It returns the positional args.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpRequest{fs, usage}
			}
			msg := err.Error()
			if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
				msg = "unknown flag " + name
			}
			return nil, usageError{fmt.Sprintf("%s\nRun '%s -h' for the flags.", msg, fs.Name())}
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
