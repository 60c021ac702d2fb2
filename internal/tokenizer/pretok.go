package tokenizer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dlclark/regexp2"
)

// span is the half-open byte range [start, end) of a piece of the input text.
type span struct{ start, end int }

// splitter is one step of pre-tokenization: it cuts the piece s[sp.start:sp.end]
// into consecutive pieces that cover it exactly, appending them to dst.
// Implementations are immutable and safe for concurrent use; scratch holds
// per-call buffers.
type splitter interface {
	split(dst []span, s string, sp span, scratch *encodeState) []span
}

// scanSplitter splits with a hand-written scanner: every match becomes a
// piece, and so does every run of characters where no match starts
// (the "Isolated" behaviour of Hugging Face's Split and llama.cpp's
// unicode_regex_split).
type scanSplitter struct{ scan scanFunc }

func (p scanSplitter) split(dst []span, s string, sp span, _ *encodeState) []span {
	gap := -1
	for pos := sp.start; pos < sp.end; {
		n := p.scan(s, pos, sp.end)
		if n == 0 {
			if gap < 0 {
				gap = pos
			}
			_, w := next(s, pos, sp.end)
			pos += w
			continue
		}
		if gap >= 0 {
			dst = append(dst, span{gap, pos})
			gap = -1
		}
		dst = append(dst, span{pos, pos + n})
		pos += n
	}
	if gap >= 0 {
		dst = append(dst, span{gap, sp.end})
	}
	return dst
}

// regexSplitter splits with a general regular expression (backtracking, with
// lookaround), for the expressions that have no scanner. Matching is done on
// code points; an invalid byte counts as one U+FFFD, as in next.
type regexSplitter struct {
	re *regexp2.Regexp
}

func (p regexSplitter) split(dst []span, s string, sp span, st *encodeState) []span {
	runes, offs := st.runes[:0], st.offs[:0]
	for i := sp.start; i < sp.end; {
		r, w := next(s, i, sp.end)
		runes = append(runes, r)
		offs = append(offs, i)
		i += w
	}
	offs = append(offs, sp.end)
	st.runes, st.offs = runes, offs

	prev := 0 // rune index where the previous match ended
	m, err := p.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		// An empty match (a bare lookahead, as superbpe's) still cuts the
		// text there, as in llama.cpp's unicode_regex_split.
		if m.Index > prev {
			dst = append(dst, span{offs[prev], offs[m.Index]})
			prev = m.Index
		}
		if m.Length > 0 {
			dst = append(dst, span{offs[m.Index], offs[m.Index+m.Length]})
			prev = m.Index + m.Length
		}
		m, err = p.re.FindNextMatch(m)
	}
	// A match error can only be a timeout, and none is set; keep the rest whole.
	if prev < len(runes) {
		dst = append(dst, span{offs[prev], sp.end})
	}
	return dst
}

// Expressions with a scanner, keyed by their exact text in llama.cpp's lists
// and in tokenizer.json files.
var scanners = map[string]scanFunc{
	`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`:              scanGPT2,
	`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`:          scanGPT2,
	llama3Expr(`(?i:'s|'t|'re|'ve|'m|'ll|'d)`, `\p{N}{1,3}`):                              llama3Scanner(3),
	llama3Expr(`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`, `\p{N}{1,3}`): llama3Scanner(3),
	llama3Expr(`(?i:'s|'t|'re|'ve|'m|'ll|'d)`, `\p{N}`):                                   llama3Scanner(1),
	llama3Expr(`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`, `\p{N}`):      llama3Scanner(1),
	llama3Expr(`(?i:'s|'t|'re|'ve|'m|'ll|'d)`, `\p{N}+`):                                  llama3Scanner(0),
	llama3Expr(`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`, `\p{N}+`):     llama3Scanner(0),
	deepSeekV3Expr:               scanDeepSeekV3,
	`\p{N}{1,3}`:                 runScanner(isNumber, 3),
	`\p{N}`:                      runScanner(isNumber, 1),
	`\p{N}+`:                     runScanner(isNumber, 0),
	"[\r\n]":                     runScanner(func(r rune) bool { return r == '\r' || r == '\n' }, 1),
	"[一-龥぀-ゟ゠-ヿ]+":               runScanner(inRanges(0x4E00, 0x9FA5, 0x3040, 0x309F, 0x30A0, 0x30FF), 0),
	"[一-龥ࠀ-一가-퟿]+":               runScanner(inRanges(0x4E00, 0x9FA5, 0x0800, 0x4E00, 0xAC00, 0xD7FF), 0),
	`\s?\p{L}+`:                  optSpaceRun(func(r rune) bool { return classOf(r)&clsLetter != 0 }),
	`\s?\p{P}+`:                  optSpaceRun(func(r rune) bool { return classOf(r)&clsPunct != 0 }),
	`\s+$`:                       scanTrailingSpaces,
	`[0-9][0-9][0-9]`:            scanThreeDigits,
	`[\p{P}\$\+<=>\^~\|]+`:       runScanner(punctOr("$+<=>^~|"), 0),
	"[\\p{P}\\$\\+<=>\\^~\\|`]+": runScanner(punctOr("$+<=>^~|`"), 0),
}

func llama3Expr(contractions, digits string) string {
	return contractions + `|[^\r\n\p{L}\p{N}]?\p{L}+|` + digits + `| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
}

const deepSeekV3Expr = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"

// compileSplitter returns the scanner for expr if there is one, else the
// compiled regular expression (or the regexp2 version always, when
// forceRegex is set, for tests).
func compileSplitter(expr string, forceRegex bool) (splitter, error) {
	if f, ok := scanners[expr]; ok && !forceRegex {
		return scanSplitter{f}, nil
	}
	if f, ok := classScanner(expr); ok && !forceRegex {
		return scanSplitter{f}, nil
	}
	re, err := regexp2.Compile(expr, regexp2.Unicode)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: pre-tokenizer expression %q: %w", expr, err)
	}
	return regexSplitter{re}, nil
}

// preType is the pre-tokenization of one family of byte-level BPE
// vocabularies, with the tokenizer flags llama.cpp ties to it
// (llama-vocab.cpp, llama_vocab::impl::load and llm_tokenizer_bpe).
type preType struct {
	exprs        []string // applied in order, each to every piece of the previous step
	ignoreMerges bool     // a piece that is itself a token is not merged
	addBOS       bool     // default of tokenizer.ggml.add_bos_token
	noBOS        bool     // the BOS id defaults to none
}

// The expression lists, as in llama.cpp.
var (
	exprGPT2         = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	exprLlama3       = llama3Expr(`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`, `\p{N}{1,3}`)
	exprQwen2        = llama3Expr(`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`, `\p{N}`)
	exprsDefault     = []string{`[\p{P}\$\+<=>\^~\|]+`, exprGPT2, `\p{N}+`, `[0-9][0-9][0-9]`}
	exprsStarcoder   = []string{`\p{N}`, exprGPT2}
	exprsDeepSeekLLM = []string{
		"[\r\n]",
		"\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌῐ-\u1fd3ῖ-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
		"\\s?[!-/:-~！-／：-～‘-‟　-。]+",
		"\\s+$",
		"[一-龥ࠀ-一가-퟿]+",
		"\\p{N}+",
	}
	exprsDeepSeekCoder = []string{"[\r\n]", `\s?\p{L}+`, `\s?\p{P}+`, "[一-龥ࠀ-一가-퟿]+", `\p{N}`}
	exprsDeepSeekV3    = []string{`\p{N}{1,3}`, "[一-龥぀-ゟ゠-ヿ]+", deepSeekV3Expr}
	exprsFalcon        = []string{"[\\p{P}\\$\\+<=>\\^~\\|`]+", exprGPT2, "[0-9][0-9][0-9]"}
	exprsPoro          = []string{` ?[^(\s|.,!?…。，、।۔،)]+`}
	exprsChameleon     = []string{
		`<sentinel:[0-9]+>`,
		`(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z`,
		`([\t\n]|    |  )`,
		`\p{N}`,
		"[\\p{P}!-/:-@\\[-`{-~]",
		exprGPT2,
	}
	exprGPT4o     = `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprTekken    = `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprBailing   = `'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	exprSeedCoder = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprQwen35    = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprUfakzeka  = `[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprExaoneMoE = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+`
	exprJais2     = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}`
	exprMiniCPM5  = llama3Expr(`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`, `\p{N}+`)
	exprYoutu     = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprTinyAya   = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprDSv3Main  = deepSeekV3Expr
)

// preTypes maps every tokenizer.ggml.pre name llama.cpp accepts for
// byte-level BPE vocabularies (tokenizer.ggml.model = "gpt2") to its
// pre-tokenization. Names llama.cpp maps to custom code paths that this
// package does not implement (kimi-k2, afmoe, gemma4, sarvam-moe, whitespace,
// granite-embed-multi-311m) are absent and give an error.
var preTypes = map[string]preType{}

func init() {
	add := func(p preType, names ...string) {
		for _, n := range names {
			preTypes[n] = p
		}
	}
	add(preType{exprs: exprsDefault}, "default")
	add(preType{exprs: []string{exprLlama3}, ignoreMerges: true, addBOS: true},
		"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano")
	add(preType{exprs: []string{exprLlama3}}, "dbrx", "smaug-bpe")
	add(preType{exprs: []string{exprLlama3}, noBOS: true}, "glm4", "chatglm-bpe")
	add(preType{exprs: []string{exprJais2}}, "jais-2")
	add(preType{exprs: exprsDeepSeekLLM}, "deepseek-llm")
	add(preType{exprs: exprsDeepSeekCoder}, "deepseek-coder")
	add(preType{exprs: exprsDeepSeekV3}, "deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4")
	add(preType{exprs: []string{`\p{N}{1,3}`, "[一-龥぀-ゟ゠-ヿ]+",
		"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+",
		`\p{N}`}}, "spark2_5")
	add(preType{exprs: []string{"[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+", exprYoutu}, ignoreMerges: true}, "youtu")
	add(preType{exprs: exprsFalcon}, "falcon")
	add(preType{exprs: []string{exprGPT2}},
		"mpt", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
		"mellum", "modern-bert", "exaone4", "olmo", "jais", "trillion", "granite-docling",
		"jina-v1-en", "jina-v2-code", "roberta-bpe")
	add(preType{exprs: exprsStarcoder},
		"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2")
	add(preType{exprs: []string{exprQwen2}},
		"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open", "grok-2")
	add(preType{exprs: []string{exprQwen35}}, "qwen35")
	add(preType{exprs: exprsPoro}, "poro-chat", "bloom", "gpt3-finnish")
	add(preType{exprs: []string{` ?[^(\s|.,!?…。，、।۔،)]+`, `\p{N}`}}, "viking")
	add(preType{exprs: []string{exprTekken}, ignoreMerges: true, addBOS: true}, "tekken")
	add(preType{exprs: exprsChameleon, addBOS: true}, "chameleon")
	add(preType{exprs: []string{exprGPT4o}}, "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2")
	add(preType{exprs: []string{`\d{1,3}(?=(?:\d{3})*\b)`, exprTinyAya}}, "tiny_aya", "cohere2moe")
	add(preType{exprs: []string{exprBailing}}, "bailingmoe", "bailingmoe2", "llada-moe")
	add(preType{exprs: []string{exprSeedCoder}}, "seed-coder")
	add(preType{exprs: []string{exprUfakzeka}}, "ufakzeka")
	add(preType{exprs: []string{`[^\n]+|[\n]+`, exprQwen2}}, "laguna")
	add(preType{exprs: []string{exprExaoneMoE}}, "exaone-moe")
	add(preType{exprs: []string{`\p{N}{1,3}`, exprMiniCPM5}, ignoreMerges: true}, "minicpm5")
	add(preType{exprs: []string{`\p{N}+`, `(?=(\d{3})+(?!\d))`}}, "superbpe")
}

// PreTypes returns the tokenizer.ggml.pre names this package supports, sorted.
func PreTypes() []string {
	names := make([]string, 0, len(preTypes))
	for n := range preTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func unknownPreError(name string) error {
	return fmt.Errorf("tokenizer: unknown pre-tokenizer type (tokenizer.ggml.pre) %q; known: %s",
		name, strings.Join(PreTypes(), ", "))
}

// pretokenizer is a compiled list of splitters.
type pretokenizer []splitter

func compilePre(exprs []string, forceRegex bool) (pretokenizer, error) {
	p := make(pretokenizer, 0, len(exprs))
	for _, e := range exprs {
		s, err := compileSplitter(e, forceRegex)
		if err != nil {
			return nil, err
		}
		p = append(p, s)
	}
	return p, nil
}

// apply splits s[sp.start:sp.end] by every step in turn and returns the pieces
// (in st.spans, overwritten on the next call).
func (p pretokenizer) apply(s string, sp span, st *encodeState) []span {
	cur := append(st.spans[:0], sp)
	alt := st.spans2[:0]
	for _, step := range p {
		alt = alt[:0]
		for _, piece := range cur {
			alt = step.split(alt, s, piece, st)
		}
		cur, alt = alt, cur
	}
	st.spans, st.spans2 = cur, alt
	return cur
}
