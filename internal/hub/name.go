package hub

import (
	"fmt"
	"strings"
)

// Name is a model name: a Hugging Face repository and an optional
// quantization tag.
type Name struct {
	Owner, Repo string
	Quant       string // e.g. "Q4_K_M", "UD-IQ1_S"; "" = the default choice
}

// RepoID returns "owner/repo".
func (n Name) RepoID() string { return n.Owner + "/" + n.Repo }

// String returns "owner/repo:QUANT", or "owner/repo" without a tag.
func (n Name) String() string {
	if n.Quant == "" {
		return n.RepoID()
	}
	return n.RepoID() + ":" + n.Quant
}

// maxNamePart bounds an owner or repository name (Hugging Face allows 96
// characters per part).
const maxNamePart = 96

// ParseName parses "owner/repo", "owner/repo:QUANT", and the same with one
// of the prefixes "hf.co/", "huggingface.co/" or "https://huggingface.co/"
// (ollama's form is "hf.co/owner/repo:QUANT"). The tag "latest" means no tag,
// as in ollama. Owner and repo hold letters, digits, '-', '_' and '.', do not
// start or end with '-' or '.', and contain no "--" or ".."; the tag holds
// letters, digits, '-', '_' and '.', and is upper-cased (tags match file
// names case-insensitively).
func ParseName(s string) (Name, error) {
	orig := s
	for _, p := range []string{"https://huggingface.co/", "http://huggingface.co/", "https://hf.co/", "huggingface.co/", "hf.co/"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s = rest
			break
		}
	}
	var n Name
	repo, quant, hasQuant := strings.Cut(s, ":")
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return Name{}, fmt.Errorf("hub: model name %q: want owner/repo[:QUANT]", orig)
	}
	if err := checkPart(owner); err != nil {
		return Name{}, fmt.Errorf("hub: model name %q: owner: %v", orig, err)
	}
	if err := checkPart(name); err != nil {
		return Name{}, fmt.Errorf("hub: model name %q: repo: %v", orig, err)
	}
	n.Owner, n.Repo = owner, name
	if hasQuant {
		if quant == "" || len(quant) > 64 {
			return Name{}, fmt.Errorf("hub: model name %q: empty or overlong quantization tag", orig)
		}
		for _, r := range quant {
			if !isNameChar(r) {
				return Name{}, fmt.Errorf("hub: model name %q: quantization tag: character %q not allowed", orig, r)
			}
		}
		if !strings.EqualFold(quant, "latest") {
			n.Quant = strings.ToUpper(quant)
		}
	}
	return n, nil
}

func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

// checkPart checks one part of a repository id against Hugging Face's rules.
func checkPart(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty")
	case len(p) > maxNamePart:
		return fmt.Errorf("longer than %d characters", maxNamePart)
	case strings.Contains(p, "--") || strings.Contains(p, ".."):
		return fmt.Errorf("%q: \"--\" and \"..\" are not allowed", p)
	case strings.ContainsAny(p[:1], "-.") || strings.ContainsAny(p[len(p)-1:], "-."):
		return fmt.Errorf("%q: must not start or end with '-' or '.'", p)
	}
	for _, r := range p {
		if !isNameChar(r) {
			return fmt.Errorf("%q: character %q not allowed", p, r)
		}
	}
	return nil
}

// LooksLikeName reports whether s reads as a store name rather than a file
// path: it parses as a Name and does not end in ".gguf".
func LooksLikeName(s string) bool {
	if strings.HasSuffix(strings.ToLower(s), ".gguf") {
		return false
	}
	_, err := ParseName(s)
	return err == nil
}
