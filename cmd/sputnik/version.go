package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release this binary was built as; release builds set it
// with -ldflags "-X main.version=v1.2.3". Otherwise the module version and
// VCS stamp from the build information are shown.
var version = ""

// versionString describes the build: version, commit and Go toolchain.
func versionString() string {
	v, rev, modified := version, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	s := "sputnik " + v
	if rev != "" {
		s += " (commit " + rev[:min(12, len(rev))]
		if modified {
			s += ", modified"
		}
		s += ")"
	}
	return fmt.Sprintf("%s %s %s/%s", s, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "Usage: sputnik version (or sputnik --version)") }
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	_, err = fmt.Fprintln(stdout, versionString())
	return err
}
