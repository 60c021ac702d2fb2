// Package deps holds the dependency test: it enforces the hard layout
// rules of STYLE.md section 1 (who may import net/http, testing,
// testutil and server, where json struct tags may live, and that
// architecture packages never import each other) by parsing every Go file
// of the module. It has no code of its own.
package deps
