package duckdb

import "strings"

// statement is one statement of a script and how many ? placeholders it
// holds.
type statement struct {
	sql    string
	params int
}

// splitScript splits a script at its top-level semicolons and counts each
// statement's ? placeholders, skipping string literals, quoted identifiers
// and comments. The driver binds arguments to a script's last statement
// only, so a script with arguments runs statement by statement.
func splitScript(sql string) []statement {
	var out []statement
	start, params := 0, 0
	flush := func(end int) {
		if s := strings.TrimSpace(sql[start:end]); s != "" {
			out = append(out, statement{sql: s, params: params})
		}
		start, params = end+1, 0
	}
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '\'' || c == '"':
			// A doubled quote inside is an escaped quote: scanning on to
			// the next quote handles it as two adjacent literals.
			j := strings.IndexByte(sql[i+1:], c)
			if j < 0 {
				i = len(sql)
			} else {
				i += j + 1
			}
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = len(sql)
			} else {
				i += j
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				i = len(sql)
			} else {
				i += j + 3
			}
		case c == '?':
			params++
		case c == ';':
			flush(i)
		}
	}
	if start < len(sql) {
		flush(len(sql))
	}
	return out
}
