package bqpipeline

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// bindParams binds positional query parameters by replacing each ?
// placeholder with a literal of its value, in order, as BigQuery binds
// them. The reference evaluator then sees plain GoogleSQL.
func bindParams(sql string, params []any) (string, error) {
	var b strings.Builder
	last, n := 0, 0
	for _, t := range lex(sql) {
		if t.kind != tokPunct || t.text != "?" {
			continue
		}
		if n >= len(params) {
			return "", fmt.Errorf("Query parameter %d not found: the query has more ? placeholders than the %d parameters given", n+1, len(params))
		}
		lit, err := literal(params[n])
		if err != nil {
			return "", fmt.Errorf("query parameter %d: %w", n+1, err)
		}
		b.WriteString(sql[last:t.start])
		b.WriteString(lit)
		last = t.end
		n++
	}
	if n != len(params) {
		return "", fmt.Errorf("the query has %d ? placeholders but %d parameters were given", n, len(params))
	}
	b.WriteString(sql[last:])
	return b.String(), nil
}

// literal renders a decoded parameter value (see bqfake.Query.Params) as
// a GoogleSQL literal of its type.
func literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		return strconv.Quote(x), nil // a Go quoted string is a valid GoogleSQL "..." literal
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return "CAST(" + strconv.Quote(strconv.FormatFloat(x, 'g', -1, 64)) + " AS FLOAT64)", nil
	case bool:
		return strings.ToUpper(strconv.FormatBool(x)), nil
	case time.Time:
		return "TIMESTAMP '" + x.UTC().Format("2006-01-02 15:04:05.999999") + "+00'", nil
	case []byte:
		return "FROM_BASE64('" + base64.StdEncoding.EncodeToString(x) + "')", nil
	}
	return "", fmt.Errorf("no literal for %T", v)
}
