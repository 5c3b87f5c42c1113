//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sam-attribution/sam/warehouse"
)

// LoadArrow is Load for rows read from the Arrow stream r (req.NDJSON and
// req.Rows unset), which DuckDB scans directly: no text to parse again, and
// the reading overlaps with the producer's work. Like a RowSource, r cannot
// be read twice, so a transaction conflict is not retried.
//
// It needs the driver's Arrow interface, built with the duckdb_arrow tag;
// without it DB has no LoadArrow and callers load NDJSON.
func (db *DB) LoadArrow(ctx context.Context, req warehouse.LoadRequest, r array.RecordReader) (warehouse.LoadResult, error) {
	if req.NDJSON != nil || req.Rows != nil {
		return warehouse.LoadResult{}, fmt.Errorf("duckdb: load %s: an Arrow load takes neither NDJSON nor Rows", req.Table)
	}
	if err := validateTarget(req); err != nil {
		return warehouse.LoadResult{}, fmt.Errorf("duckdb: load %s: %w", req.Table, err)
	}
	defer db.lockTable(req.Table)()
	res := warehouse.LoadResult{JobID: req.JobID}
	src := &arrowStream{r: r, view: fmt.Sprintf("sam_arrow_%d", db.loadSeq.Add(1))}
	err := db.withConn(ctx, func(conn *sql.Conn) error {
		n, err := db.load(ctx, conn, req, src)
		res.RowsLoaded = n
		return err
	})
	if err != nil {
		return warehouse.LoadResult{}, fmt.Errorf("duckdb: load %s (%s): %w", req.Table, req.Mode, err)
	}
	if err := db.protectFiles(); err != nil {
		return res, err
	}
	db.log.DebugContext(ctx, "duckdb arrow load", "table", req.Table, "mode", req.Mode.String(), "rows", res.RowsLoaded)
	return res, nil
}

// arrowStream is an Arrow stream registered as a temporary view for the
// one statement that reads it.
type arrowStream struct {
	r    array.RecordReader
	view string
}

// insert implements inserter. The stream's columns are matched by name;
// INSERT casts them to the target's types.
func (a *arrowStream) insert(ctx context.Context, conn *sql.Conn, dest string, s warehouse.Schema, checkParts bool, parts []time.Time) (int64, error) {
	var release func()
	err := conn.Raw(func(dc any) error {
		dconn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		ar, err := duckdbdrv.NewArrowFromConn(dconn)
		if err != nil {
			return err
		}
		release, err = ar.RegisterView(a.r, a.view)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("register Arrow stream: %w", err)
	}
	defer release()
	view := quoteIdent(a.view)
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+view) // it outlives the stream otherwise

	sel := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		sel[i] = quoteIdent(c.Name)
		if checkParts && c.Name == s.PartitionColumn {
			sel[i] = partitionGuard(sel[i], c.Name, parts)
		}
	}
	q := "INSERT INTO " + dest + " (" + columnList(s) + ") SELECT " + strings.Join(sel, ", ") + " FROM " + view
	res, err := conn.ExecContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("read Arrow stream: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("read Arrow stream: %w", err)
	}
	return n, nil
}
