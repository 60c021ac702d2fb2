package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestEvalCommand evaluates the built-in model on a few held-out problems:
// one line with thinking, one without.
func TestEvalCommand(t *testing.T) {
	if _, _, ok := builtinModel(); !ok {
		t.Fatal("this build has no built-in model")
	}
	var out, errb bytes.Buffer
	if err := runEval([]string{"-n", "32"}, &out, &errb); err != nil {
		t.Fatalf("eval: %v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "with thinking:") || !strings.HasPrefix(lines[1], "no thinking:") ||
		!strings.Contains(lines[0], "(32 problems)") {
		t.Errorf("eval output:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "r1-tiny (built in)") {
		t.Errorf("stderr does not name the built-in model:\n%s", errb.String())
	}
}

// TestTrainUsage: mistakes in train's and eval's flags are usage errors
// that name the problem, before any work.
func TestTrainUsage(t *testing.T) {
	for _, tc := range []struct {
		run  func([]string, *bytes.Buffer, *bytes.Buffer) error
		args []string
		want string
	}{
		{func(a []string, o, e *bytes.Buffer) error { return runTrain(a, o, e) }, []string{"--recipe", "nope"}, `no recipe "nope"`},
		{func(a []string, o, e *bytes.Buffer) error { return runTrain(a, o, e) }, []string{"--steps", "-1"}, "--steps must be >= 0"},
		{func(a []string, o, e *bytes.Buffer) error { return runTrain(a, o, e) }, []string{"-t", "-3"}, "thread"},
		{func(a []string, o, e *bytes.Buffer) error { return runEval(a, o, e) }, []string{"--recipe", "nope"}, `no recipe "nope"`},
		{func(a []string, o, e *bytes.Buffer) error { return runEval(a, o, e) }, []string{"-n", "-1"}, "-n must be >= 0"},
	} {
		var out, errb bytes.Buffer
		err := tc.run(tc.args, &out, &errb)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}
