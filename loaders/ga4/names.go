package ga4

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SkippedFile is a file in the export folder that was not loaded, and why.
type SkippedFile struct {
	File   string // the file's name in the export folder
	Reason string
}

// exportFile is one file of an export table.
type exportFile struct {
	path    string
	gz      bool
	parquet bool
	// property is the GA4 property the file belongs to ("" when the
	// export folder does not say).
	property string
	// marked: the file starts with a UTF-8 byte order mark (markFiles).
	marked bool
}

// fileRE matches an export file name, in any letter case: the table name,
// then the shard number `bq extract` puts in place of a wildcard (BigQuery
// writes at most 1 GB per file, so a larger table arrives as
// events_YYYYMMDD_000000000000.json, ..._000000000001.json, ...), then the
// format.
var fileRE = regexp.MustCompile(`(?i)^events_(intraday_)?(\d{8})(?:_(\d{1,12}))?\.(json|ndjson|jsonl|json\.gz|ndjson\.gz|jsonl\.gz|parquet)$`)

// Near misses, to say what is wrong with a name rather than only that it
// is wrong.
var (
	dashedDateRE = regexp.MustCompile(`(?i)^events_(intraday_)?(\d{4})-(\d{2})-(\d{2})((?:_\d+)?\..+)$`)
	anyExtRE     = regexp.MustCompile(`(?i)^events_(intraday_)?\d{8}(?:_\d+)?(\..+)?$`)
)

// latestDay is the last export day that can exist at now: the date in
// UTC+14, the easternmost time zone a property can report in.
func latestDay(now time.Time) time.Time {
	return day(now.UTC().Add(14 * time.Hour))
}

// candidate is a file whose name is an export file's.
type candidate struct {
	name     string
	day      time.Time
	intraday bool
	shard    int // -1 when the name has no shard number
	file     exportFile
}

// scanDir lists the export tables in the export folder by day, and the
// files it will not load with the reason. fresh_ tables (the 360
// fresh-daily export) are left out on purpose and not reported.
//
// Each export folder (Options.ExportDir, Options.ExportDirs) holds one
// property's files, or one sub-folder per property named by its property
// id (digits). A property's files carry its id: the sub-folder's name, or,
// when several folders are listed, the folder's own name; a single folder
// of files keeps none. A day's table is every property's table of that
// day, loaded and replaced together.
func (l *FileLoader) scanDir() (map[time.Time]exportTable, []SkippedFile, error) {
	folders, err := l.cfg.exportFolders()
	if err != nil {
		return nil, nil, err
	}
	out := map[time.Time]exportTable{}
	var skipped []SkippedFile
	for _, f := range folders {
		tables, sk, err := l.scanFolder(f.dir, f.property)
		if err != nil {
			return nil, nil, err
		}
		skipped = append(skipped, sk...)
		for d, t := range tables {
			prev, ok := out[d]
			if !ok {
				out[d] = t
				continue
			}
			if prev.files[0].parquet || t.files[0].parquet {
				return nil, nil, fmt.Errorf("ga4: %s: several properties export Parquet files for this day; export NDJSON for all but one", t.name)
			}
			// One property still on its intraday table makes the day's
			// load intraday, so the day reloads when its daily table comes.
			if t.intraday {
				prev.intraday, prev.name = true, t.name
			}
			prev.files = append(prev.files, t.files...)
			out[d] = prev
		}
	}
	return out, skipped, nil
}

// CheckExportFolders lists the export folders and reports a layout the
// file loader refuses, two folders holding one property's files, so that
// it stops a run before any work. It reads folder listings only.
func (o Options) CheckExportFolders() error {
	_, err := o.exportFolders()
	return err
}

// exportFolder is one folder of one property's export files.
type exportFolder struct{ dir, property string }

// exportFolders lists the folders scanDir reads: each export folder, and
// the property sub-folders in it.
func (o Options) exportFolders() ([]exportFolder, error) {
	var folders []exportFolder
	dirs := o.exportDirs()
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("ga4: read export dir: %w", err)
		}
		own := ""
		if len(dirs) > 1 {
			own = filepath.Base(filepath.Clean(dir))
		}
		folders = append(folders, exportFolder{dir, own})
		for _, e := range entries {
			if e.IsDir() && propertyDirRE.MatchString(e.Name()) {
				folders = append(folders, exportFolder{filepath.Join(dir, e.Name()), e.Name()})
			}
		}
	}
	seen := map[string]string{}
	for _, f := range folders {
		if prev, dup := seen[f.property]; dup {
			return nil, fmt.Errorf("ga4: %s and %s both hold property %q; give each property one folder", prev, f.dir, f.property)
		}
		seen[f.property] = f.dir
	}
	return folders, nil
}

// propertyDirRE matches a property sub-folder: a GA4 property id.
var propertyDirRE = regexp.MustCompile(`^[0-9]{1,20}$`)

// scanFolder lists one folder's export tables; property tags its files.
func (l *FileLoader) scanFolder(dir, property string) (map[time.Time]exportTable, []SkippedFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("ga4: read export dir: %w", err)
	}
	latest := latestDay(l.now())
	var skipped []SkippedFile
	skip := func(name, reason string) {
		l.log.Warn("ga4: skipping export file", "file", name, "why", reason)
		skipped = append(skipped, SkippedFile{File: name, Reason: reason})
	}
	type key struct {
		day      time.Time
		intraday bool
	}
	byTable := map[key][]candidate{}
	var keys []key
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "fresh_") || strings.HasPrefix(lower, "events_fresh_") {
			l.log.Info("ga4: skipping fresh export table; the daily table is authoritative", "file", name)
			continue
		}
		m := fileRE.FindStringSubmatch(name)
		if m == nil {
			skip(name, misnamed(name))
			continue
		}
		d, ok := parseDay([]byte(m[2]))
		if !ok {
			skip(name, fmt.Sprintf("%s is not a calendar day", m[2]))
			continue
		}
		if d.After(latest) {
			skip(name, fmt.Sprintf("named for a future day (%s); today is %s", d.Format(time.DateOnly), day(l.now().UTC()).Format(time.DateOnly)))
			continue
		}
		c := candidate{name: name, day: d, intraday: m[1] != "", shard: -1}
		if m[3] != "" {
			c.shard, _ = strconv.Atoi(m[3]) // at most 12 digits
		}
		ext := strings.ToLower(m[4])
		c.file = exportFile{path: filepath.Join(dir, name), gz: strings.HasSuffix(ext, ".gz"), parquet: ext == "parquet", property: property}
		k := key{d, c.intraday}
		if _, seen := byTable[k]; !seen {
			keys = append(keys, k)
		}
		byTable[k] = append(byTable[k], c)
	}
	out := map[time.Time]exportTable{}
	for _, k := range keys {
		files, reasons := pickFiles(byTable[k])
		for _, r := range reasons {
			skip(r.File, r.Reason)
		}
		if len(files) == 0 {
			continue
		}
		prefix := "events_"
		if k.intraday {
			prefix += "intraday_"
		}
		t := exportTable{day: k.day, intraday: k.intraday, name: prefix + k.day.Format("20060102"), files: files}
		if prev, seen := out[k.day]; !seen || prev.intraday && !t.intraday {
			out[k.day] = t
		}
	}
	return out, skipped, nil
}

// pickFiles chooses the files that make up one export table among the
// candidates named for it (in directory order, which is sorted): one
// unsharded file, or a complete set of shards of one format. The rest are
// returned with the reason they are not loaded.
func pickFiles(cands []candidate) ([]exportFile, []SkippedFile) {
	var skipped []SkippedFile
	for _, c := range cands {
		if c.shard >= 0 {
			continue
		}
		// A whole-table file wins over shards and over other copies.
		for _, o := range cands {
			if o.name != c.name {
				skipped = append(skipped, SkippedFile{File: o.name, Reason: "another file holds the same export table; " + c.name + " is loaded"})
			}
		}
		return []exportFile{c.file}, skipped
	}
	first := cands[0]
	seen := map[int]string{}
	var files []exportFile
	maxShard := -1
	for _, c := range cands {
		switch {
		case c.file.parquet != first.file.parquet:
			skipped = append(skipped, SkippedFile{File: c.name, Reason: "a shard in another format than " + first.name})
		case seen[c.shard] != "":
			skipped = append(skipped, SkippedFile{File: c.name, Reason: "the same shard as " + seen[c.shard] + ", which is loaded"})
		default:
			seen[c.shard] = c.name
			files = append(files, c.file)
			maxShard = max(maxShard, c.shard)
		}
	}
	if len(seen) != maxShard+1 {
		// bq extract numbers shards from 0 without gaps: one is missing,
		// and loading the rest would replace the day with part of it.
		for _, c := range cands {
			if seen[c.shard] == c.name {
				skipped = append(skipped, SkippedFile{File: c.name, Reason: fmt.Sprintf("the table's shards are numbered up to %d but only %d are present; the day is not loaded until all are", maxShard, len(seen))})
			}
		}
		return nil, skipped
	}
	return files, skipped
}

// misnamed says what is wrong with the name of a file that is not an
// export file.
func misnamed(name string) string {
	if m := dashedDateRE.FindStringSubmatch(name); m != nil {
		return fmt.Sprintf("the date in the name must be YYYYMMDD: rename it to events_%s%s%s%s%s", m[1], m[2], m[3], m[4], m[5])
	}
	if m := anyExtRE.FindStringSubmatch(name); m != nil {
		ext := m[2]
		switch strings.ToLower(ext) {
		case ".json.gzip", ".ndjson.gzip", ".jsonl.gzip", ".json.gzp", ".json.z":
			return fmt.Sprintf("unknown extension %s: name gzipped NDJSON .json.gz", ext)
		case "":
			return "no extension: name NDJSON .json, gzipped NDJSON .json.gz, or Parquet .parquet"
		}
		return fmt.Sprintf("unknown extension %s: export files are .json, .ndjson, .jsonl (optionally .gz) or .parquet", ext)
	}
	return "not an export table file: export files are named events_YYYYMMDD.json (or .json.gz, .parquet)"
}
