package bigquerysql

import (
	"regexp"
	"strings"
	"unicode"
)

// Mutations turn a valid model into one BigQuery rejects, to prove the check
// catches each class of mistake. They edit the first SELECT list found
// outside comments and string literals.

// InjectSelectItem adds item as the first entry of the first SELECT list
// (skipping SELECT DISTINCT / SELECT AS STRUCT, whose syntax it would break)
// and returns the new SQL and the byte offset of item in it.
func InjectSelectItem(sql, item string) (string, int, bool) {
	for _, at := range selectLists(sql) {
		rest := strings.ToLower(sql[at:])
		if strings.HasPrefix(rest, "distinct") || strings.HasPrefix(rest, "as ") || strings.HasPrefix(rest, "all ") {
			continue
		}
		return sql[:at] + item + ", " + sql[at:], at, true
	}
	return "", 0, false
}

var firstItemRE = regexp.MustCompile(`^([a-z_][a-z0-9_]*)\s*,`)

// MisspellFirstColumn drops the last letter of the first SELECT list's first
// item when that item is a bare column name (rate_date becomes rate_dat). It
// returns the new SQL, the original and misspelled names.
func MisspellFirstColumn(sql string) (mutated, column, misspelled string, ok bool) {
	for _, at := range selectLists(sql) {
		m := firstItemRE.FindStringSubmatch(sql[at:])
		if m == nil || len(m[1]) < 4 || isKeyword(m[1]) {
			continue
		}
		col := m[1]
		bad := col[:len(col)-1]
		return sql[:at] + bad + sql[at+len(col):], col, bad, true
	}
	return "", "", "", false
}

func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "distinct", "all", "as", "case", "struct", "array", "with", "select", "cast", "safe_cast", "extract", "if", "not", "exists", "interval":
		return true
	}
	return false
}

// selectLists returns the offsets just after each SELECT keyword (and the
// whitespace following it) outside comments, string literals and quoted
// identifiers.
func selectLists(sql string) []int {
	var out []int
	i := 0
	for i < len(sql) {
		switch {
		case strings.HasPrefix(sql[i:], "--") || sql[i] == '#':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				return out
			}
			i += j + 1
		case strings.HasPrefix(sql[i:], "/*"):
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return out
			}
			i += j + 4
		case sql[i] == '\'' || sql[i] == '"' || sql[i] == '`':
			q := sql[i]
			j := i + 1
			for j < len(sql) && sql[j] != q {
				if sql[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
		case isWordStart(sql, i) && strings.EqualFold(word(sql, i), "select"):
			j := i + len("select")
			for j < len(sql) && unicode.IsSpace(rune(sql[j])) {
				j++
			}
			out = append(out, j)
			i = j
		case isWordStart(sql, i):
			i += len(word(sql, i))
		default:
			i++
		}
	}
	return out
}

func isIdentByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func isWordStart(s string, i int) bool {
	return isIdentByte(s[i]) && (i == 0 || !isIdentByte(s[i-1]))
}

func word(s string, i int) string {
	j := i
	for j < len(s) && isIdentByte(s[j]) {
		j++
	}
	return s[i:j]
}
