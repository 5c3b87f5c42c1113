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
	case nil:
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
