package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/sample"
)

// session is one terminal chat of sputnik run: the conversation, the
// settings /set changes, and where the answers go.
type session struct {
	system       string         // system prompt ("" = none)
	msgs         []chat.Message // user and assistant turns, without the system prompt
	opts         sample.Options // sampling; Seed is used when randomSeed is false
	randomSeed   bool           // draw a new seed for every answer
	maxTokens    int            // per answer; 0 = until the context is full
	hideThinking bool

	r1        bool
	plain     bool           // no chat template: continue the text as it is
	tmpl      *chat.Template // nil when plain
	special   specialText
	lm        *loaded
	modelPath string
	eng       *engine.Engine
	capacity  int // context tokens

	out        *lineWriter // answers
	stderr     io.Writer   // statistics and notes
	dim, reset string      // terminal escapes, "" when not a terminal
}

// conversation returns the messages to render: the system prompt, then
// the turns so far.
func (s *session) conversation() []chat.Message {
	msgs := make([]chat.Message, 0, len(s.msgs)+2)
	if s.system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: s.system})
	}
	return append(msgs, s.msgs...)
}

const chatHelp = `Available commands:
  /set            set a parameter or the system prompt (/set alone lists them)
  /show           show the model, the parameters or the system prompt
  /clear          forget the conversation
  /bye            leave (also /exit, Ctrl-D)
  /?, /help       this help

Ctrl-C stops an answer; at the prompt it leaves. Arrow keys edit the line and
go through the history.
`

const setHelp = `Available /set commands:
  /set parameter NAME VALUE   (or /set NAME VALUE) where NAME is one of
      temperature      0 = greedy
      top_p            nucleus mass, 0 or 1 = off
      top_k            0 = off
      min_p            0 = off
      repeat_penalty   1 or 0 = off
      seed             -1 = a random seed per answer
      num_predict      most tokens per answer, 0 = until the context is full (also max_tokens)
  /set system TEXT            set the system prompt (/set system alone removes it)
  /set hidethinking           do not print the model's reasoning
  /set nohidethinking         print it again
`

const showHelp = `Available /show commands:
  /show info         the model: architecture, parameters, context, file
  /show parameters   the sampling parameters in use
  /show system       the system prompt
  /show template     the chat template
`

// command runs a chat command line (starting with "/") and reports
// whether the user asked to leave.
func (s *session) command(line string) (quit bool) {
	w := s.out
	fields := strings.Fields(line)
	switch cmd := fields[0]; cmd {
	case "/bye", "/exit", "/quit":
		return true
	case "/?", "/help":
		if len(fields) > 1 {
			switch fields[1] {
			case "set", "/set":
				fmt.Fprint(w, setHelp)
				return false
			case "show", "/show":
				fmt.Fprint(w, showHelp)
				return false
			}
		}
		fmt.Fprint(w, chatHelp)
	case "/clear":
		s.msgs = nil
		fmt.Fprintln(w, "Cleared the conversation.")
	case "/set":
		s.set(strings.TrimSpace(strings.TrimPrefix(line, cmd)))
	case "/show":
		s.show(fields[1:])
	default:
		fmt.Fprintf(w, "Unknown command %q. Type /? for help.\n", cmd)
	}
	return false
}

// set handles "/set …".
func (s *session) set(arg string) {
	w := s.out
	name, value, _ := strings.Cut(arg, " ")
	value = strings.TrimSpace(value)
	switch name {
	case "":
		fmt.Fprint(w, setHelp)
		return
	case "system":
		s.system = value
		if value == "" {
			fmt.Fprintln(w, "Removed the system prompt.")
		} else {
			fmt.Fprintln(w, "Set the system prompt.")
		}
		if s.plain {
			fmt.Fprintln(w, "(This model has no chat template; the system prompt is not used.)")
		}
		return
	case "hidethinking":
		s.hideThinking = true
		fmt.Fprintln(w, "Reasoning will be hidden.")
		return
	case "nohidethinking":
		s.hideThinking = false
		fmt.Fprintln(w, "Reasoning will be shown.")
		return
	case "parameter":
		name, value, _ = strings.Cut(value, " ")
		value = strings.TrimSpace(value)
	}
	if value == "" {
		fmt.Fprintf(w, "Usage: /set parameter NAME VALUE (/set lists the names)\n")
		return
	}
	if err := s.setParameter(name, value); err != nil {
		fmt.Fprintf(w, "Couldn't set %s: %v\n", name, err)
		return
	}
	fmt.Fprintf(w, "Set parameter '%s' to '%s'\n", name, value)
}

// setParameter changes one sampling parameter, checking the result.
func (s *session) setParameter(name, value string) error {
	o := s.opts
	randomSeed := s.randomSeed
	maxTokens := s.maxTokens
	float := func(dst *float32) error {
		v, err := strconv.ParseFloat(value, 32)
		if err != nil {
			return fmt.Errorf("%q is not a number", value)
		}
		*dst = float32(v)
		return nil
	}
	var err error
	switch name {
	case "temperature", "temp":
		err = float(&o.Temperature)
	case "top_p", "top-p":
		err = float(&o.TopP)
	case "min_p", "min-p":
		err = float(&o.MinP)
	case "repeat_penalty", "repeat-penalty":
		err = float(&o.RepeatPenalty)
	case "top_k", "top-k":
		o.TopK, err = strconv.Atoi(value)
	case "seed":
		var sf seedFlag
		if err = sf.Set(value); err == nil {
			o.Seed, randomSeed = sf.v, !sf.set
		}
	case "num_predict", "max_tokens", "n":
		maxTokens, err = strconv.Atoi(value)
		if err == nil {
			err = checkPredict(&maxTokens)
		}
	default:
		return fmt.Errorf("unknown parameter (want temperature, top_p, top_k, min_p, repeat_penalty, seed or num_predict)")
	}
	if err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "sample: "))
	}
	s.opts, s.randomSeed, s.maxTokens = o, randomSeed, maxTokens
	return nil
}

// show handles "/show …".
func (s *session) show(args []string) {
	w := s.out
	what := ""
	if len(args) > 0 {
		what = args[0]
	}
	switch what {
	case "info":
		info := s.lm.m.Info()
		fmt.Fprintf(w, "  %-16s %s\n", "file", s.modelPath)
		fmt.Fprintf(w, "  %-16s %s\n", "name", orDash(info.Name))
		fmt.Fprintf(w, "  %-16s %s\n", "architecture", info.Arch)
		fmt.Fprintf(w, "  %-16s %s\n", "parameters", humanCount(info.Params))
		if info.ActiveParams != 0 && info.ActiveParams != info.Params {
			fmt.Fprintf(w, "  %-16s %s\n", "active per token", humanCount(info.ActiveParams))
		}
		fmt.Fprintf(w, "  %-16s %s\n", "file type", orDash(summarize(s.lm.f).fileType))
		fmt.Fprintf(w, "  %-16s %d (model: %d)\n", "context length", s.capacity, info.ContextLength)
		tmpl := "the model's own"
		if s.plain {
			tmpl = "none: plain continuation"
		}
		fmt.Fprintf(w, "  %-16s %s\n", "chat template", tmpl)
		if s.r1 {
			fmt.Fprintf(w, "  %-16s %s\n", "reasoning", "DeepSeek-R1 (prompts open <think>)")
		}
	case "parameters":
		o := s.opts
		seed := strconv.FormatUint(o.Seed, 10)
		if s.randomSeed {
			seed = "random per answer"
		}
		predict := strconv.Itoa(s.maxTokens)
		if s.maxTokens == 0 {
			predict = "until the context is full"
		}
		for _, p := range [][2]string{
			{"temperature", fmt.Sprint(o.Temperature)},
			{"top_p", fmt.Sprint(o.TopP)},
			{"top_k", fmt.Sprint(o.TopK)},
			{"min_p", fmt.Sprint(o.MinP)},
			{"repeat_penalty", fmt.Sprint(o.RepeatPenalty)},
			{"seed", seed},
			{"num_predict", predict},
		} {
			fmt.Fprintf(w, "  %-16s %s\n", p[0], p[1])
		}
	case "system":
		if s.system == "" {
			fmt.Fprintln(w, "No system prompt is set.")
		} else {
			fmt.Fprintln(w, s.system)
		}
	case "template":
		if s.plain {
			fmt.Fprintln(w, "This model has no chat template.")
		} else {
			fmt.Fprintln(w, s.tmpl.Source())
		}
	default:
		fmt.Fprint(w, showHelp)
	}
}
