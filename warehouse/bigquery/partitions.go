package bigquery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// ReplacePartitionsQuery replaces the listed day partitions of an existing
// partitioned table with the rows of selectSQL, in one transaction:
//
//	BEGIN TRANSACTION;
//	DELETE FROM t WHERE col IN (DATE '…', …);
//	INSERT INTO t (c1, c2, …) SELECT c1, c2, … FROM (selectSQL) WHERE col IN (…);
//	COMMIT TRANSACTION;
//
// selectSQL must produce the table's columns by name (in any order); rows
// it yields outside the listed partitions are left out, so no other
// partition is touched. Readers see either the old or the new partitions.
// The result's RowsAffected counts inserted rows. jobID, when set, makes a
// rerun wait for the script that already ran instead of running it again.
func (db *DB) ReplacePartitionsQuery(ctx context.Context, table string, partitions []time.Time, selectSQL, jobID string, opts ...warehouse.ExecOption) (warehouse.Result, error) {
	if len(partitions) == 0 {
		return warehouse.Result{}, errors.New("replace partitions: no partitions listed")
	}
	if strings.TrimSpace(selectSQL) == "" {
		return warehouse.Result{}, errors.New("replace partitions: empty SELECT")
	}
	s, err := db.Describe(ctx, table)
	if err != nil {
		return warehouse.Result{}, fmt.Errorf("replace partitions of %s: %w", table, err)
	}
	col, ok := s.Column(s.PartitionColumn)
	if !ok {
		return warehouse.Result{}, fmt.Errorf("replace partitions of %s: the table is not partitioned by a column", db.QualifiedName(table))
	}
	script := partitionScript(db.QualifiedName(table), s, col, partitions, selectSQL)
	var o warehouse.ExecOptions
	for _, f := range opts {
		f(&o)
	}
	if jobID != "" {
		o.JobID = jobID
	}
	job, st, err := db.runQuery(ctx, script, nil, o)
	if err != nil {
		return warehouse.Result{}, fmt.Errorf("replace partitions of %s: %w", db.QualifiedName(table), err)
	}
	res := warehouse.Result{JobID: job.ID()}
	if st.Statistics != nil {
		res.BytesProcessed = st.Statistics.TotalBytesProcessed
	}
	if qs := queryStats(st); qs != nil {
		res.BytesBilled = qs.TotalBytesBilled
	}
	byType, err := db.scriptRows(ctx, job)
	if err != nil {
		return res, err
	}
	res.RowsAffected = byType["INSERT"]
	return res, nil
}

func partitionScript(qualified string, s warehouse.Schema, col warehouse.Column, partitions []time.Time, selectSQL string) string {
	days := make([]time.Time, 0, len(partitions))
	for _, p := range partitions {
		d := p.UTC()
		days = append(days, time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC))
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	days = slices.Compact(days)
	filter := partitionFilter(col, days)
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = "`" + c.Name + "`"
	}
	cols := strings.Join(names, ", ")
	var b strings.Builder
	b.WriteString("BEGIN TRANSACTION;\n")
	fmt.Fprintf(&b, "DELETE FROM %s WHERE %s;\n", qualified, filter)
	fmt.Fprintf(&b, "INSERT INTO %s (%s)\nSELECT %s FROM (\n%s\n) WHERE %s;\n", qualified, cols, cols, strings.TrimRight(strings.TrimSpace(selectSQL), ";"), filter)
	b.WriteString("COMMIT TRANSACTION;\n")
	return b.String()
}
