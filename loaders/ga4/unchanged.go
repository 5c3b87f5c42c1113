package ga4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// tablePrints are the fingerprints of the export tables a loader loaded
// last, by table name, kept as a cursor of the "ga4" source: the lookback
// reloads days GA4 may have rewritten, and a table whose fingerprint is
// as it was at its load would load the same rows again.
type tablePrints struct {
	Tables map[string]string `json:"tables"`
}

// printCursor is where a loader keeps its tablePrints: the file loader's
// object is "files" (one per shard, since parallel tasks load their own
// days and would overwrite each other's cursor), the BigQuery loader's
// "bigquery". It keeps the fingerprints of the days that Options.printDays
// counts back from the newest.
type printCursor struct {
	wh     warehouse.Warehouse
	object string
	days   int
}

// printDays is how many days back from the newest the fingerprints are
// kept: the lookback, and at least the recentDays in which an intraday
// table may still wait for its daily one.
func (o Options) printDays() int { return max(recentDays, o.LookbackDays+1) }

func (c printCursor) read(ctx context.Context) (tablePrints, error) {
	p := tablePrints{Tables: map[string]string{}}
	cur, err := loaders.NewCursors(c.wh).Get(ctx, Source, c.object)
	if err != nil || cur == "" {
		return p, err
	}
	if err := json.Unmarshal([]byte(cur), &p); err != nil {
		return p, fmt.Errorf("ga4: read the fingerprints of loaded export tables: %w", err)
	}
	if p.Tables == nil {
		p.Tables = map[string]string{}
	}
	return p, nil
}

// save records the fingerprints of the tables res loaded, keeping those of
// tables loaded before that are within c.days of the newest day up to
// latest: older days are past the lookback. A loaded table without a
// fingerprint loses the one it had.
func (c printCursor) save(ctx context.Context, was tablePrints, prints map[string]string, res Result, latest time.Time) error {
	if len(res.Tables) == 0 {
		return nil
	}
	for _, name := range res.Tables {
		if fp, ok := prints[name]; ok {
			was.Tables[name] = fp
		} else {
			delete(was.Tables, name)
		}
	}
	var newest time.Time
	for name := range was.Tables {
		if d, ok := tableDay(name); ok && d.After(newest) && !d.After(latest) {
			newest = d
		}
	}
	for name := range was.Tables {
		if d, ok := tableDay(name); !ok || d.Before(newest.AddDate(0, 0, -c.days)) || d.After(latest) {
			delete(was.Tables, name)
		}
	}
	js, err := json.Marshal(was)
	if err != nil {
		return fmt.Errorf("ga4: save the fingerprints of loaded export tables: %w", err)
	}
	if err := loaders.NewCursors(c.wh).Save(ctx, Source, c.object, string(js)); err != nil {
		return fmt.Errorf("ga4: %w", err)
	}
	return nil
}

// skipUnchanged drops from chosen the tables reloaded only because they
// are within the lookback, whose fingerprint (in prints) is the one
// recorded at their load: loaded is what raw_ga4__events holds (a day no
// longer there is loaded whatever was recorded). A table without a
// fingerprint is loaded.
func skipUnchanged(log *slog.Logger, chosen []exportTable, loaded map[time.Time]string, was tablePrints, prints map[string]string) []exportTable {
	var keep []exportTable
	skipped := 0
	for _, t := range chosen {
		if fp, ok := prints[t.name]; ok && loaded[t.day] == t.name && was.Tables[t.name] == fp {
			skipped++
			continue
		}
		keep = append(keep, t)
	}
	if skipped > 0 {
		log.Info("ga4: export tables in the lookback are unchanged since their load; not loaded again", "tables", skipped)
	}
	return keep
}

func (l *FileLoader) prints() printCursor {
	if l.shard.Count > 1 {
		return printCursor{l.wh, fmt.Sprintf("files shard %d of %d", l.shard.Index, l.shard.Count), l.cfg.printDays()}
	}
	return printCursor{l.wh, "files", l.cfg.printDays()}
}

// filePrints fingerprints the chosen tables' files.
func filePrints(chosen []exportTable) map[string]string {
	prints := map[string]string{}
	for _, t := range chosen {
		if fp, ok := fingerprint(t); ok {
			prints[t.name] = fp
		}
	}
	return prints
}

// fingerprint identifies a table's files as the file system describes
// them, without reading them: each file's path, size and modification
// time, as make and rsync tell a changed file. GA4 rewriting a daily table
// means a new export of it, and a new file. A file that cannot be
// described has no fingerprint, and its table is loaded.
func fingerprint(t exportTable) (string, bool) {
	paths := make([]string, len(t.files))
	for i, f := range t.files {
		paths[i] = f.path
	}
	slices.Sort(paths)
	h := sha256.New()
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", false
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", p, fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), true
}

// tableDay is the day of an export table's name (events_YYYYMMDD or
// events_intraday_YYYYMMDD).
func tableDay(name string) (time.Time, bool) {
	if len(name) < 8 {
		return time.Time{}, false
	}
	return parseDay([]byte(name[len(name)-8:]))
}
