package bqpipeline

import (
	"strings"
)

// tokKind classifies a token of GoogleSQL text.
type tokKind int

const (
	tokWord   tokKind = iota // a bare identifier or keyword
	tokQuoted                // a `quoted identifier`
	tokString                // a string or bytes literal
	tokNumber
	tokPunct // one character: ( ) , ; . = * and others
)

// token is one lexical token and where it sits in the text.
type token struct {
	kind       tokKind
	text       string // as written
	start, end int
}

// upper is a word token's text in upper case, "" for other kinds.
func (t token) upper() string {
	if t.kind != tokWord {
		return ""
	}
	return strings.ToUpper(t.text)
}

// ident is the identifier a word or quoted token names.
func (t token) ident() string {
	if t.kind == tokQuoted {
		return strings.Trim(t.text, "`")
	}
	return t.text
}

// lex splits GoogleSQL text into tokens, dropping comments and whitespace.
// It knows enough of the lexical grammar (quoted identifiers, single,
// double and triple quoted strings with escapes and raw/bytes prefixes,
// --, # and /* */ comments) to never split inside a literal.
func lex(s string) []token {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == '-' && strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				i = len(s)
			} else {
				i += j + 1
			}
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				i = len(s)
			} else {
				i += j + 4
			}
		case c == '`':
			j := i + 1
			for j < len(s) && s[j] != '`' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			out = append(out, token{tokQuoted, s[i:j], i, j})
			i = j
		case c == '\'' || c == '"':
			j := stringEnd(s, i)
			out = append(out, token{tokString, s[i:j], i, j})
			i = j
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentPart(s[j]) {
				j++
			}
			// r'..', b'..', rb'..' literal prefixes.
			if j < len(s) && (s[j] == '\'' || s[j] == '"') && len(s[i:j]) <= 2 && strings.Trim(strings.ToLower(s[i:j]), "rb") == "" {
				k := stringEnd(s, j)
				out = append(out, token{tokString, s[i:k], i, k})
				i = k
				continue
			}
			out = append(out, token{tokWord, s[i:j], i, j})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (isIdentPart(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, token{tokNumber, s[i:j], i, j})
			i = j
		default:
			out = append(out, token{tokPunct, s[i : i+1], i, i + 1})
			i++
		}
	}
	return out
}

// stringEnd returns the offset just after the string literal starting at
// s[i] (a quote character).
func stringEnd(s string, i int) int {
	q := s[i]
	if strings.HasPrefix(s[i:], strings.Repeat(string(q), 3)) {
		j := strings.Index(s[i+3:], strings.Repeat(string(q), 3))
		if j < 0 {
			return len(s)
		}
		return i + 3 + j + 3
	}
	j := i + 1
	for j < len(s) && s[j] != q {
		if s[j] == '\\' {
			j++
		}
		j++
	}
	return min(j+1, len(s))
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// splitScript splits a script into its statements' text, at semicolons
// outside literals and comments. Empty statements are dropped.
func splitScript(sql string) []string {
	var out []string
	start := 0
	for _, t := range lex(sql) {
		if t.kind == tokPunct && t.text == ";" {
			if s := strings.TrimSpace(sql[start:t.start]); hasTokens(s) {
				out = append(out, s)
			}
			start = t.end
		}
	}
	if s := strings.TrimSpace(sql[start:]); hasTokens(s) {
		out = append(out, s)
	}
	return out
}

func hasTokens(s string) bool { return len(lex(s)) > 0 }

// path is a dotted table path read from tokens: `p.d`.t, `p`.`d`.`t`,
// `p.d.t`, d.t, t.
type path struct {
	parts      []string
	start, end int // the text it was read from
	next       int // index of the first token after it
}

// readPath reads a dotted path starting at toks[i].
func readPath(toks []token, i int) (path, bool) {
	if i >= len(toks) || toks[i].kind != tokWord && toks[i].kind != tokQuoted {
		return path{}, false
	}
	p := path{start: toks[i].start}
	for {
		t := toks[i]
		p.parts = append(p.parts, strings.Split(t.ident(), ".")...)
		p.end = t.end
		i++
		// A wildcard suffix: events_* is lexed as events_ then *.
		if i < len(toks) && toks[i].kind == tokPunct && toks[i].text == "*" && toks[i].start == t.end && t.kind == tokWord {
			p.parts[len(p.parts)-1] += "*"
			p.end = toks[i].end
			i++
		}
		if i+1 < len(toks) && toks[i].kind == tokPunct && toks[i].text == "." && toks[i].start == p.end &&
			(toks[i+1].kind == tokWord || toks[i+1].kind == tokQuoted) && toks[i+1].start == toks[i].end {
			i++
			continue
		}
		break
	}
	p.next = i
	return p, true
}

// matchClose returns the index of the token closing the parenthesis at
// toks[i], or len(toks).
func matchClose(toks []token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		if toks[j].kind != tokPunct {
			continue
		}
		switch toks[j].text {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(toks)
}

// findTop returns the index of the first word token at parenthesis depth 0
// from toks[i] on whose upper-case text is one of words, or -1.
func findTop(toks []token, i int, words ...string) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		t := toks[j]
		if t.kind == tokPunct {
			switch t.text {
			case "(", "[":
				depth++
			case ")", "]":
				depth--
			}
			continue
		}
		if depth == 0 && t.kind == tokWord {
			for _, w := range words {
				if t.upper() == w {
					return j
				}
			}
		}
	}
	return -1
}

// splitTop splits toks[i:j] at commas of depth 0 and returns the text of
// each part. With angles, < and > nest too (type lists: STRUCT<a INT64>).
func splitTop(sql string, toks []token, i, j int, angles bool) []string {
	var out []string
	depth, from := 0, i
	flush := func(k int) {
		if from < k {
			out = append(out, strings.TrimSpace(sql[toks[from].start:toks[k-1].end]))
		}
	}
	for k := i; k < j; k++ {
		t := toks[k]
		if t.kind != tokPunct {
			continue
		}
		switch t.text {
		case "<", ">":
			if !angles {
				continue
			}
			if t.text == "<" {
				depth++
			} else {
				depth--
			}
		case "(", "[":
			depth++
		case ")", "]":
			depth--
		case ",":
			if depth == 0 {
				flush(k)
				from = k + 1
			}
		}
	}
	flush(j)
	return out
}
