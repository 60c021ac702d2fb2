//go:build jinjacompare

package chat

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ardan "github.com/ardanlabs/jinja"
	gonja "github.com/nikolalohinski/gonja/v2"
	gconfig "github.com/nikolalohinski/gonja/v2/config"
	gexec "github.com/nikolalohinski/gonja/v2/exec"
	gloaders "github.com/nikolalohinski/gonja/v2/loaders"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

type evalCase struct {
	name, tmpl, want string
	vars             map[string]any
	trim             bool
}

func loadEvalCases(t *testing.T) (conf, chat []evalCase) {
	dir := testutil.SharedTestdata(t)
	var cf struct {
		Cases []struct {
			Name, Template, Expected string
			Context                  map[string]any
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "templates/jinja_conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatal(err)
	}
	for _, c := range cf.Cases {
		conf = append(conf, evalCase{c.Name, c.Template, c.Expected, c.Context, false})
	}
	var cs struct {
		Sets []struct {
			ID           string
			Conversation []any
			Cases        []struct {
				Name, Template, Expected string
				Context                  map[string]any
				BOSToken                 string  `json:"bos_token"`
				EOSToken                 string  `json:"eos_token"`
				ExtraMessages            []any   `json:"extra_messages"`
				ExpectedJinja            *string `json:"expected_jinja"`
				Plain                    *bool   `json:"plain_jinja_reproduces_expected_jinja"`
			}
		}
	}
	b, err = os.ReadFile(filepath.Join(dir, "templates/cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	for _, s := range cs.Sets {
		for _, c := range s.Cases {
			if s.ID == "llamacpp-test-chat-template" {
				if c.Plain == nil || !*c.Plain {
					continue
				}
				msgs := append(append([]any{}, s.Conversation...), c.ExtraMessages...)
				chat = append(chat, evalCase{s.ID + "/" + c.Name, c.Template, *c.ExpectedJinja, map[string]any{
					"messages": msgs, "bos_token": c.BOSToken, "eos_token": c.EOSToken, "add_generation_prompt": true}, true})
				continue
			}
			chat = append(chat, evalCase{s.ID + "/" + c.Name, c.Template, c.Expected, c.Context, true})
		}
	}
	return conf, chat
}

var fixedNow = time.Date(2025, 7, 10, 12, 0, 0, 0, time.UTC)

func renderArdan(c evalCase) (string, error) {
	tp, err := ardan.Compile(c.tmpl)
	if err != nil {
		return "", err
	}
	vars := map[string]any{}
	for k, v := range c.vars {
		vars[k] = v
	}
	return tp.Render(vars)
}

func gonjaTemplate(src string, trim bool) (*gexec.Template, error) {
	cfg := gconfig.New()
	cfg.TrimBlocks = trim
	cfg.LeftStripBlocks = trim
	loader, err := gloaders.NewFileSystemLoader("")
	if err != nil {
		return nil, err
	}
	sl, err := gloaders.NewShiftedLoader("root", strings.NewReader(src), loader)
	if err != nil {
		return nil, err
	}
	return gexec.NewTemplate("root", cfg, sl, gonja.DefaultEnvironment)
}

func renderGonja(c evalCase) (string, error) {
	tp, err := gonjaTemplate(c.tmpl, c.trim)
	if err != nil {
		return "", err
	}
	vars := map[string]any{
		"raise_exception": func(msg string) (string, error) { return "", fmt.Errorf("%s", msg) },
		"strftime_now":    func(f string) string { return fixedNow.Format("02 Jan 2006") },
	}
	for k, v := range c.vars {
		vars[k] = v
	}
	return tp.ExecuteToString(gexec.NewContext(vars))
}

func TestCompareLibraries(t *testing.T) {
	conf, chat := loadEvalCases(t)
	for _, lib := range []struct {
		name   string
		render func(evalCase) (string, error)
	}{{"ardanlabs", renderArdan}, {"gonja", renderGonja}} {
		for _, set := range []struct {
			name  string
			cases []evalCase
		}{{"conformance", conf}, {"chat", chat}} {
			pass := 0
			var total time.Duration
			for _, c := range set.cases {
				var out string
				var err error
				func() {
					defer func() {
						if r := recover(); r != nil {
							err = fmt.Errorf("panic: %v", r)
						}
					}()
					start := time.Now()
					out, err = lib.render(c)
					total += time.Since(start)
				}()
				if err == nil && out == c.want {
					pass++
				} else if testing.Verbose() {
					t.Logf("%s %s FAIL %s: err=%v\n got %q\nwant %q", lib.name, set.name, c.name, err, trunc(out), trunc(c.want))
				}
			}
			t.Logf("%s %s: %d/%d pass, %.1f µs/case (parse+render)", lib.name, set.name, pass, len(set.cases), float64(total.Microseconds())/float64(len(set.cases)))
		}
	}
}

func trunc(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
