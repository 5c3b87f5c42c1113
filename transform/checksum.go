package transform

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// TableChecksum is a digest of a table's content that does not depend on
// the order of its rows: two builds that should agree (an incremental run
// and a full refresh) compare by it.
type TableChecksum struct {
	Table string
	Rows  int64
	Sum   string
}

// tableReader is what Checksum needs from a warehouse.
type tableReader interface {
	Query(ctx context.Context, sql string, args ...any) (warehouse.Rows, error)
	QualifiedName(table string) string
}

// Checksum reads every row of table and hashes it in Go, so the digest is
// the same on every engine. Each row's text hashes on its own and the
// hashes add up (a multiset hash: duplicate rows count, order does not).
//
// FLOAT64 values enter with 10 significant digits: a sum of doubles
// depends on the order of its terms, which differs between two equally
// correct builds. NUMERIC (money) and every other type enter exactly.
func Checksum(ctx context.Context, wh tableReader, table string) (TableChecksum, error) {
	rows, err := wh.Query(ctx, "SELECT * FROM "+wh.QualifiedName(table))
	if err != nil {
		return TableChecksum{}, fmt.Errorf("checksum %s: %w", table, err)
	}
	defer rows.Close()
	cols := rows.Columns()
	// Columns in name order: a column moved in the SELECT is the same table.
	order := warehouse.NameOrder(cols)
	var hi, lo uint64
	var n int64
	var sb strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return TableChecksum{}, fmt.Errorf("checksum %s: %w", table, err)
		}
		sb.Reset()
		for _, i := range order {
			sb.WriteString(cols[i].Name)
			sb.WriteByte('=')
			writeCanonical(&sb, vals[i])
			sb.WriteByte('\x1f')
		}
		h := sha256.Sum256([]byte(sb.String()))
		hi += binary.BigEndian.Uint64(h[0:8])
		lo += binary.BigEndian.Uint64(h[8:16])
		n++
	}
	if err := rows.Err(); err != nil {
		return TableChecksum{}, fmt.Errorf("checksum %s: %w", table, err)
	}
	return TableChecksum{Table: table, Rows: n, Sum: fmt.Sprintf("%016x%016x", hi, lo)}, nil
}

// writeCanonical writes v as text that is equal for equal values whatever
// the engine's Go type for it.
func writeCanonical(sb *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		sb.WriteString("<null>")
	case float64:
		sb.WriteString(strconv.FormatFloat(x, 'g', 10, 64))
	case float32:
		sb.WriteString(strconv.FormatFloat(float64(x), 'g', 10, 64))
	case time.Time:
		sb.WriteString(x.UTC().Format(time.RFC3339Nano))
	case *big.Rat:
		sb.WriteString(x.RatString())
	case []byte:
		sb.WriteString(strconv.Quote(string(x)))
	case string:
		sb.WriteString(strconv.Quote(x))
	case []any:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeCanonical(sb, e)
		}
		sb.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(k)
			sb.WriteByte(':')
			writeCanonical(sb, x[k])
		}
		sb.WriteByte('}')
	default:
		fmt.Fprint(sb, x)
	}
}

// MartNames lists the models under marts/, the tables BI reads, in name
// order: the default set to checksum.
func (p *Project) MartNames() []string {
	var out []string
	for name, m := range p.Models {
		if m.Kind == SQLModel && strings.HasPrefix(m.File, "marts/") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
