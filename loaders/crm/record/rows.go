package record

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// RowHash identifies one source row by its content.
type RowHash [16]byte

// String is the hash in hex.
func (h RowHash) String() string { return hex.EncodeToString(h[:]) }

// RowKey identifies the record a source row is a version of: a hash of
// its id, or of whatever else identifies it.
type RowKey [8]byte

// SourceRow is one loaded source row: which record it is a version of, and
// what it says.
type SourceRow struct {
	Key  RowKey
	Hash RowHash
}

// String is the row as the row log keeps it: its hash and key in hex.
func (r SourceRow) String() string {
	return r.Hash.String() + ":" + hex.EncodeToString(r.Key[:])
}

// ParseSourceRow reads a row written by String. Rows recorded before keys
// were kept are a bare hash; keyed reports which it was.
func ParseSourceRow(s string) (row SourceRow, keyed bool, err error) {
	hash, key, keyed := strings.Cut(s, ":")
	if n, err := hex.Decode(row.Hash[:], []byte(hash)); err != nil || n != len(row.Hash) || len(hash) != 2*len(row.Hash) {
		return SourceRow{}, false, fmt.Errorf("bad row hash %q", s)
	}
	if keyed {
		if n, err := hex.Decode(row.Key[:], []byte(key)); err != nil || n != len(row.Key) || len(key) != 2*len(row.Key) {
			return SourceRow{}, false, fmt.Errorf("bad row key %q", s)
		}
	}
	return row, keyed, nil
}

// LoadedRows is what SAM loaded from one stream of a source that recognises
// its rows by content: for each record, the rows of the load that wrote it
// last. A row is loaded when its record's last load wrote the same content.
// A row that an earlier load wrote, and a later one changed, is not: a file
// changed back to what it said before loads again, so the warehouse's
// latest version is the file's.
type LoadedRows struct {
	loads  map[string]int32 // by run id
	next   int32            // the next load's number
	latest map[RowKey]lastLoad
	// more holds the further rows of a record's last load (the same id
	// twice in one file); rare, so kept apart.
	more map[RowKey][]RowHash
	// unkeyed are rows recorded before keys were kept: their record is
	// unknown, so one counts as loaded until its record is loaded again.
	unkeyed map[RowHash]struct{}
}

type lastLoad struct {
	load int32
	hash RowHash
}

// NewLoadedRows returns an empty set.
func NewLoadedRows() *LoadedRows {
	return &LoadedRows{loads: map[string]int32{}, latest: map[RowKey]lastLoad{}, more: map[RowKey][]RowHash{}, unkeyed: map[RowHash]struct{}{}}
}

// Add records rows written by the load (run) runID. Loads must be added in
// the order they were written. Rows without a run id are a load each.
func (l *LoadedRows) Add(runID string, rows []SourceRow) {
	load, ok := l.loads[runID]
	if !ok || runID == "" {
		load = l.next
		l.next++
		l.loads[runID] = load
	}
	for _, r := range rows {
		last, ok := l.latest[r.Key]
		switch {
		case !ok || last.load != load:
			l.latest[r.Key] = lastLoad{load: load, hash: r.Hash}
			delete(l.more, r.Key)
		case last.hash != r.Hash && !slices.Contains(l.more[r.Key], r.Hash):
			l.more[r.Key] = append(l.more[r.Key], r.Hash)
		}
	}
}

// AddUnkeyed records a row hash kept without its record.
func (l *LoadedRows) AddUnkeyed(h RowHash) { l.unkeyed[h] = struct{}{} }

// Loaded reports whether r's content is what its record's last load wrote.
func (l *LoadedRows) Loaded(r SourceRow) bool {
	if l == nil {
		return false
	}
	if last, ok := l.latest[r.Key]; ok {
		return last.hash == r.Hash || slices.Contains(l.more[r.Key], r.Hash)
	}
	_, ok := l.unkeyed[r.Hash]
	return ok
}
