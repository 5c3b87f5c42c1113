package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// StateTable records every build: one row per model per run, the newest row
// of a model being its current state. Keeping history costs little and
// answers "when did this change" without another table.
const StateTable = systables.ModelStateTable

// State is the newest recorded build of one model.
type State struct {
	Model   string
	Version string
	// Definition hashes the model's own SQL and config, so a plan can tell
	// an edit of the model from a change upstream.
	Definition   string
	Materialized string
	BuiltAt      time.Time
	Rows         int64
	Bytes        int64
	RunID        string
	// Inputs maps each upstream (model, seed or source table) to the stamp
	// of the data the build read.
	Inputs map[string]string
	// Partitions lists the partitions an incremental build replaced
	// ("all" for a full build).
	Partitions string
}

// stamp identifies the data a model published: the same version built from
// the same inputs gives the same data.
func (s State) stamp() string {
	return hashParts("stamp", s.Version, inputsKey(s.Inputs))
}

func inputsKey(in map[string]string) string {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + in[k] + ";")
	}
	return b.String()
}

// stateInsert renders the INSERT recording s and its arguments; it runs
// inside the same transaction as the publish where the engine allows.
func stateInsert(d warehouse.Dialect, q string, s State) (string, []any, error) {
	in, err := json.Marshal(s.Inputs)
	if err != nil {
		return "", nil, err
	}
	return systables.InsertSQL(d, q, systables.ModelState(), [][]any{
		{s.Model, s.Version, s.Materialized, s.BuiltAt.UTC(), s.Rows, s.Bytes, s.RunID, string(in), s.Partitions, s.Definition},
	})
}

// LoadState returns the newest recorded build of every model (for `sam
// status`, plans and tests). A missing state table means nothing was built
// yet.
func LoadState(ctx context.Context, wh warehouse.Warehouse) (map[string]State, error) {
	if _, err := wh.Describe(ctx, StateTable); errors.Is(err, warehouse.ErrNotFound) {
		return map[string]State{}, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading %s: %w", StateTable, err)
	}
	return readState(ctx, wh)
}

// readState is LoadState for a caller that knows the state table exists
// (Build has just created it), sparing the look-up; opts are Query options.
func readState(ctx context.Context, wh warehouse.Warehouse, opts ...any) (map[string]State, error) {
	out := map[string]State{}
	q := `SELECT model, version, materialized, built_at, row_count, bytes_processed, run_id, inputs, partitions_built, definition
FROM ` + wh.QualifiedName(StateTable) + `
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY model ORDER BY built_at DESC, run_id DESC) = 1`
	rows, err := wh.Query(ctx, q, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", StateTable, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s State
		var rowCount, bytes sql.NullInt64
		var inputs, parts, def sql.NullString
		if err := rows.Scan(&s.Model, &s.Version, &s.Materialized, &s.BuiltAt, &rowCount, &bytes, &s.RunID, &inputs, &parts, &def); err != nil {
			return nil, fmt.Errorf("reading %s: %w", StateTable, err)
		}
		s.Rows, s.Bytes, s.Partitions, s.Definition = rowCount.Int64, bytes.Int64, parts.String, def.String
		if inputs.String != "" {
			if err := json.Unmarshal([]byte(inputs.String), &s.Inputs); err != nil {
				return nil, fmt.Errorf("reading %s: model %s: inputs: %w", StateTable, s.Model, err)
			}
		}
		out[s.Model] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", StateTable, err)
	}
	return out, nil
}
