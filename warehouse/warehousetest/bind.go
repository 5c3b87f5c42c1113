package warehousetest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// Bind renders a statement as the engine would run it, for test doubles
// that record SQL text: each ? placeholder outside quotes becomes the
// literal of the next argument in dialect d, and ExecOption values among
// args are skipped. Quoted text is skipped with backslash escapes honoured,
// as GoogleSQL writes it. Never use it to run SQL.
func Bind(d warehouse.Dialect, sql string, args []any) string {
	params, _ := warehouse.Args(args)
	if len(params) == 0 {
		return sql
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(sql) && sql[j] != c {
				if sql[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(sql))
			b.WriteString(sql[i:j])
			i = j - 1
		case c == '?' && n < len(params):
			b.WriteString(literal(d, params[n]))
			n++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func literal(d warehouse.Dialect, v any) string {
	switch x := v.(type) {
	case nil, warehouse.Null:
		return "NULL"
	case string:
		return d.StringLiteral(x)
	case time.Time:
		return d.TimestampLiteral(x)
	case bool:
		return strings.ToUpper(strconv.FormatBool(x))
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// ParseInsert reads the multi-row INSERT that systables writes
// ("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)") back into its table's bare
// name and rows, for test doubles without SQL. ok is false for any other
// statement.
func ParseInsert(sql string, args []any) (table string, rows [][]any, ok bool) {
	params, _ := warehouse.Args(args)
	rest, ok1 := strings.CutPrefix(sql, "INSERT INTO ")
	name, cols, ok2 := strings.Cut(rest, " (")
	cols, _, ok3 := strings.Cut(cols, ") VALUES ")
	if !ok1 || !ok2 || !ok3 {
		return "", nil, false
	}
	width := len(strings.Split(cols, ", "))
	if len(params)%width != 0 {
		return "", nil, false
	}
	name = strings.Trim(name, "\"`")
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	for i, p := range params {
		if _, isNull := p.(warehouse.Null); isNull {
			params[i] = nil
		}
	}
	for i := 0; i < len(params); i += width {
		rows = append(rows, params[i:i+width])
	}
	return name, rows, true
}
