package transform

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sam-attribution/sam/warehouse"
)

// Materialization says how a model is published.
type Materialization string

const (
	View        Materialization = "view"
	Table       Materialization = "table"
	Incremental Materialization = "incremental"
	// Go models run their SQL as the input of a computation in Go and
	// load its result as a table (gomodel.go).
	Go Materialization = "go"
)

// defaultLookbackDays covers GA4 rewriting daily export tables for up to 72 h.
const defaultLookbackDays = 3

// Config is a model's header configuration (see sql/CONVENTIONS.md).
type Config struct {
	Description  string          `yaml:"description,omitempty" json:"description,omitempty"`
	Materialized Materialization `yaml:"materialized" json:"materialized"`
	// GoModel names the Go computation of a materialized: go model.
	GoModel     string     `yaml:"go_model,omitempty" json:"go_model,omitempty"`
	PartitionBy string     `yaml:"partition_by,omitempty" json:"partition_by,omitempty"`
	ClusterBy   stringList `yaml:"cluster_by,omitempty" json:"cluster_by,omitempty"`
	// UniqueKey is the model's grain; the runner checks it as a
	// unique_combination test.
	UniqueKey stringList `yaml:"unique_key,omitempty" json:"unique_key,omitempty"`
	// DeduplicateBy lets the query return several rows per unique_key:
	// the runner keeps the first by this ORDER BY list of the model's
	// columns (warehouse.Deduplicate, or the dialect's DeleteCopies).
	DeduplicateBy string `yaml:"deduplicate_by,omitempty" json:"deduplicate_by,omitempty"`
	LookbackDays  *int   `yaml:"lookback_days,omitempty" json:"lookback_days,omitempty"`
	// IncrementalStrategy says what an incremental run replaces: the
	// partitions from the window's start (partitions, the default), or the
	// rows whose unique_key the run produced (merge), for a model whose rows
	// gather a key's whole history (a visitor's path) and so can change in
	// any partition.
	IncrementalStrategy IncrementalStrategy `yaml:"incremental_strategy,omitempty" json:"incremental_strategy,omitempty"`
	// LoadedDays names a raw source whose rows carry the day they belong to
	// and when they were loaded: an incremental run also rebuilds every day
	// loaded since the model's last build, however far before the lookback
	// (an export table that arrived late, or was replaced).
	LoadedDays *LoadedDays `yaml:"loaded_days,omitempty" json:"loaded_days,omitempty"`
	// FullBuildWindowDays makes a full build of an incremental model run
	// its incremental query window by window, this many days of partitions
	// each, into the table it then publishes at once, on engines that run
	// queries within one process's memory (DuckDB): a query whose aggregate
	// states cannot spill then needs a window's memory, not the history's.
	FullBuildWindowDays int         `yaml:"full_build_window_days,omitempty" json:"full_build_window_days,omitempty"`
	Tests               TestsConfig `yaml:"tests,omitempty" json:"tests"`
	// Severity applies to the data tests this file declares: its header
	// tests, or the custom test it is.
	Severity Severity `yaml:"severity,omitempty" json:"severity,omitempty"`
}

// LoadedDays is the loaded_days key: Source is a source table the model
// reads, Day its DATE column of the day a row belongs to, LoadedAt its
// TIMESTAMP column of when the row was loaded.
type LoadedDays struct {
	Source   string `yaml:"source" json:"source"`
	Day      string `yaml:"day" json:"day"`
	LoadedAt string `yaml:"loaded_at" json:"loaded_at"`
}

// IncrementalStrategy is how an incremental run publishes its rows.
type IncrementalStrategy string

const (
	// StrategyPartitions deletes the partitions from the window's start and
	// inserts the run's rows, which must all lie in the window.
	StrategyPartitions IncrementalStrategy = "partitions"
	// StrategyMerge deletes the rows whose unique_key the run produced and
	// inserts the run's rows, whatever their partition.
	StrategyMerge IncrementalStrategy = "merge"
)

// Severity says what offending rows of a data test do to a run.
type Severity string

const (
	// SeverityError fails the run; it is the default.
	SeverityError Severity = "error"
	// SeverityWarn reports the offending rows and lets the run go on.
	SeverityWarn Severity = "warn"
)

// orDefault returns s, or SeverityError when s is unset.
func (s Severity) orDefault() Severity {
	if s == "" {
		return SeverityError
	}
	return s
}

// Lookback returns lookback_days, or its default.
func (c Config) Lookback() int {
	if c.LookbackDays == nil {
		return defaultLookbackDays
	}
	return *c.LookbackDays
}

// TestsConfig lists the data tests declared in a model header.
type TestsConfig struct {
	NotNull           stringList        `yaml:"not_null,omitempty" json:"not_null,omitempty"`
	Unique            stringList        `yaml:"unique,omitempty" json:"unique,omitempty"`
	UniqueCombination []stringList      `yaml:"unique_combination,omitempty" json:"unique_combination,omitempty"`
	AcceptedValues    map[string][]any  `yaml:"accepted_values,omitempty" json:"accepted_values,omitempty"`
	Relationships     map[string]string `yaml:"relationships,omitempty" json:"relationships,omitempty"`
	// Extra catches misspelled test names so they fail loudly.
	Extra map[string]yaml.Node `yaml:",inline" json:"-"`
}

// stringList accepts a YAML sequence of strings or a single string.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = stringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// parseHeader splits src into its leading block comment's YAML and returns
// the configuration. firstLine is the file line the YAML starts on, used to
// turn yaml's line numbers into file line numbers.
func parseHeader(file, src string) (Config, error) {
	var cfg Config
	trimmed := skipLineComments(src)
	if !strings.HasPrefix(trimmed, "/*") {
		cfg.Materialized = View
		return cfg, nil
	}
	start := len(src) - len(trimmed) + 2
	end := strings.Index(src[start:], "*/")
	if end < 0 {
		return cfg, fmt.Errorf("%s:%d: header comment is not closed with */", file, lineOf(src, start))
	}
	body := src[start : start+end]
	offset := lineOf(src, start) - 1 // yaml line 1 is the line holding "/*"
	dec := yaml.NewDecoder(bytes.NewReader([]byte(body)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		msg := yamlLineRE.ReplaceAllStringFunc(err.Error(), func(m string) string {
			n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
			return "line " + strconv.Itoa(n+offset)
		})
		line := offset + 1
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return cfg, fmt.Errorf("%s:%d: bad header YAML: %s", file, line, strings.TrimPrefix(msg, "yaml: "))
	}
	if cfg.Materialized == "" {
		cfg.Materialized = View
	}
	if err := cfg.validate(); err != nil {
		line := offset + 1
		var ke *keyError
		if errors.As(err, &ke) {
			re := regexp.MustCompile(`(?m)^[ \t]*` + regexp.QuoteMeta(ke.key) + `[ \t]*:`)
			if loc := re.FindStringIndex(body); loc != nil {
				line = offset + lineOf(body, loc[0])
			}
		}
		return cfg, fmt.Errorf("%s:%d: bad header: %w", file, line, err)
	}
	return cfg, nil
}

// skipLineComments drops leading blank lines and -- comment lines, which
// may precede the header block.
func skipLineComments(src string) string {
	for {
		s := strings.TrimLeft(src, " \t\r\n")
		if !strings.HasPrefix(s, "--") {
			return s
		}
		_, rest, ok := strings.Cut(s, "\n")
		if !ok {
			return ""
		}
		src = rest
	}
}

// keyError is a validation error about one header key, so the error can
// point at the key's line.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

func keyErr(key, format string, args ...any) error {
	return &keyError{key: key, err: fmt.Errorf(format, args...)}
}

func lineOf(src string, off int) int { return strings.Count(src[:off], "\n") + 1 }

func (c Config) validate() error {
	switch c.Materialized {
	case View, Table, Incremental, Go:
	default:
		return keyErr("materialized", "materialized %q: want view, table, incremental or go", c.Materialized)
	}
	if (c.Materialized == Go) != (c.GoModel != "") {
		return keyErr("go_model", "go_model goes with materialized: go, and materialized: go needs go_model")
	}
	if c.Materialized == Go && (c.PartitionBy != "" || len(c.ClusterBy) > 0) {
		return keyErr("materialized", "go models cannot have partition_by or cluster_by")
	}
	if c.Materialized == Incremental && c.PartitionBy == "" {
		return keyErr("materialized", "incremental models need partition_by (a DATE column)")
	}
	switch c.IncrementalStrategy {
	case "", StrategyPartitions:
	case StrategyMerge:
		if c.Materialized != Incremental || len(c.UniqueKey) == 0 {
			return keyErr("incremental_strategy", "incremental_strategy: merge needs materialized: incremental and a unique_key")
		}
	default:
		return keyErr("incremental_strategy", "incremental_strategy %q: want partitions or merge", c.IncrementalStrategy)
	}
	if c.DeduplicateBy != "" {
		if c.Materialized != Table && c.Materialized != Incremental || len(c.UniqueKey) == 0 {
			return keyErr("deduplicate_by", "deduplicate_by needs materialized: table or incremental and a unique_key")
		}
		if strings.Contains(c.DeduplicateBy, ";") {
			return keyErr("deduplicate_by", "deduplicate_by %q: want an ORDER BY list, without ;", c.DeduplicateBy)
		}
	}
	switch c.Severity {
	case "", SeverityError, SeverityWarn:
	default:
		return keyErr("severity", "severity %q: want error or warn", c.Severity)
	}
	if c.LookbackDays != nil && *c.LookbackDays < 0 {
		return keyErr("lookback_days", "lookback_days must not be negative")
	}
	if c.FullBuildWindowDays < 0 {
		return keyErr("full_build_window_days", "full_build_window_days must not be negative")
	}
	if c.FullBuildWindowDays > 0 && (c.Materialized != Incremental || c.IncrementalStrategy == StrategyMerge) {
		return keyErr("full_build_window_days", "full_build_window_days needs materialized: incremental with incremental_strategy: partitions")
	}
	if ld := c.LoadedDays; ld != nil {
		if c.Materialized != Incremental {
			return keyErr("loaded_days", "loaded_days needs materialized: incremental")
		}
		for what, id := range map[string]string{"loaded_days source": ld.Source, "loaded_days day": ld.Day, "loaded_days loaded_at": ld.LoadedAt} {
			if err := warehouse.CheckIdentifier(what, id); err != nil {
				return keyErr("loaded_days", "%v", err)
			}
		}
	}
	if c.Materialized == View && (c.PartitionBy != "" || len(c.ClusterBy) > 0) {
		return keyErr("materialized", "views cannot have partition_by or cluster_by")
	}
	if len(c.Tests.Extra) > 0 {
		var names []string
		for k := range c.Tests.Extra {
			names = append(names, k)
		}
		sort.Strings(names)
		return keyErr(names[0], "unknown test %s (want not_null, unique, unique_combination, accepted_values, relationships)", strings.Join(names, ", "))
	}
	check := func(what string, cols ...string) error {
		for _, col := range cols {
			if err := warehouse.CheckIdentifier(what, col); err != nil {
				return err
			}
		}
		return nil
	}
	if c.PartitionBy != "" {
		if err := check("partition_by", c.PartitionBy); err != nil {
			return err
		}
	}
	if err := check("cluster_by column", c.ClusterBy...); err != nil {
		return err
	}
	if err := check("unique_key column", c.UniqueKey...); err != nil {
		return err
	}
	if err := check("not_null column", c.Tests.NotNull...); err != nil {
		return err
	}
	if err := check("unique column", c.Tests.Unique...); err != nil {
		return err
	}
	for _, combo := range c.Tests.UniqueCombination {
		if len(combo) == 0 {
			return errors.New("unique_combination needs at least one column per combination")
		}
		if err := check("unique_combination column", combo...); err != nil {
			return err
		}
	}
	for col, vals := range c.Tests.AcceptedValues {
		if err := check("accepted_values column", col); err != nil {
			return err
		}
		if len(vals) == 0 {
			return fmt.Errorf("accepted_values for %s lists no values", col)
		}
		for _, v := range vals {
			switch v.(type) {
			case string, int, int64, float64, bool:
			default:
				return fmt.Errorf("accepted_values for %s: value %v is not a string, number or boolean", col, v)
			}
		}
	}
	for col, target := range c.Tests.Relationships {
		if err := check("relationships column", col); err != nil {
			return err
		}
		if _, _, err := splitRelationship(target); err != nil {
			return fmt.Errorf("relationships for %s: %w", col, err)
		}
	}
	return nil
}

// splitRelationship parses "model.column".
func splitRelationship(target string) (model, column string, err error) {
	model, column, ok := strings.Cut(target, ".")
	if !ok || !warehouse.ValidIdentifier(model) || !warehouse.ValidIdentifier(column) {
		return "", "", fmt.Errorf("target %q: want model.column", target)
	}
	return model, column, nil
}

// declared reports whether any header test is configured.
func (t TestsConfig) declared() bool {
	return len(t.NotNull)+len(t.Unique)+len(t.UniqueCombination)+len(t.AcceptedValues)+len(t.Relationships) > 0
}
