// Package grammar constrains generation to a grammar: it compiles a JSON
// Schema (or "any JSON object") into a byte-level pushdown automaton and,
// at every step, computes which tokens of the real vocabulary keep the
// output a valid prefix.
//
// It sits between the server, which compiles response_format and tool
// schemas into a Grammar, and the engine, which applies a Matcher's mask to
// the logits before sampling; it imports only the standard library.
//
// The main types:
//
//   - Grammar: a compiled schema (Schema, JSONObject), immutable and shared.
//     It is a recursive transition network: one small NFA per schema node,
//     byte edges, and calls that push a return state ($ref and recursion
//     work by calling the node's rule).
//   - Vocab: a tokenizer's pieces as a preorder byte trie, built once per
//     tokenizer. Tokens are byte strings, so multi-character tokens and
//     tokens holding part of a UTF-8 character are handled by the walk.
//   - Matcher: one generation's position in a Grammar: Mask fills a bitset
//     of allowed tokens, Accept advances. End-of-generation tokens are
//     allowed exactly when the value is complete.
//
// Speed: Mask walks the trie once with the automaton, pruning every subtree
// whose prefix is dead. The part of the answer that depends only on the
// automaton states (not on the return stacks) is cached per state set in
// the Grammar, so only tokens that close the current rule are re-walked;
// inside an unconstrained string a precomputed table answers directly.
//
// Schema coverage: type (and lists of types), properties in schema order,
// required, additionalProperties (false, true, or a schema; when absent and
// properties are listed none are generated — a subset of what validates),
// enum, const, items, prefixItems, minItems, maxItems (≤ 1024), anyOf,
// oneOf (generated as anyOf: exclusivity is not enforced), allOf with one
// schema, local $ref ("#", "#/$defs/…", any JSON pointer) including
// recursion, string pattern (Go regexp syntax: classes, groups,
// alternation, repetition, ^ and $ at the ends; search semantics as JSON
// Schema's), format date, time, date-time, email, hostname, uuid, ipv4
// (stricter than the RFCs: no February 29, ASCII addresses), minLength and
// maxLength (≤ 1024), integer minimum/maximum/exclusive bounds (exact), and
// number bounds (approximated: integers in range, or non-negative decimals
// whose integer part keeps the value in range; no exponents then). Inside
// pattern strings no control characters are generated. At most
// MaxWhitespace bytes of whitespace are allowed between tokens. Anything
// else — multipleOf, patternProperties, min/maxProperties, if/then/else,
// not, remote $ref, unknown formats, … — is an error wrapping
// ErrUnsupported that names the keyword and where it is.
package grammar
