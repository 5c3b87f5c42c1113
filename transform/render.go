package transform

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// Vars holds the values {{ var "x" }} renders (attribution_window_days,
// time_decay_half_life_days, reporting_currency, ...): strings, booleans,
// ints, int64s, float64s and time.Time (as a DATE).
type Vars map[string]any

// render executes a model's or test's template, with the project's macros
// (nil: none) callable. The header comment stays in the output so that line
// numbers in engine errors are file line numbers. A model's version hashes
// this output, so a macro change rebuilds exactly the models whose rendered
// SQL it changes.
func render(file, src string, macros *macroSet, env renderEnv) (string, error) {
	// A set of its own per render keeps renders independent: template.Funcs
	// mutates the set, and runs render concurrently.
	t, err := macros.template(file)
	if err != nil {
		return "", err
	}
	t.Funcs(env.funcs())
	t.Funcs(macros.funcs(t))
	if t, err = t.Parse(src); err != nil {
		return "", err // text/template errors name the file and line
	}
	var b strings.Builder
	if err := t.Execute(&b, nil); err != nil {
		return "", err
	}
	return trimSQL(b.String()), nil
}

// trimSQL drops trailing blanks and semicolons so the body can be embedded
// in CREATE ... AS.
func trimSQL(s string) string {
	return strings.TrimRight(s, " \t\r\n;")
}

// versionQualify stands in for the engine's qualified names when hashing, so
// a model's version does not change with the project or dataset it runs in.
func versionQualify(table string) string { return "{{" + table + "}}" }

// hashParts returns a hex SHA-256 of the parts, each length-prefixed so no
// two different part lists hash alike.
func hashParts(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// versionFormat changes when the way models are built changes, so that every
// model rebuilds once after such an upgrade.
const versionFormat = "sam-transform-1"

// Compile renders every SQL model for dialect d as a full build would run it:
// the query whose rows the model publishes (with deduplicate_by, the runner
// may remove the copies in a second statement instead, see DeleteCopies).
// qualify turns a table name into SQL (nil: the dialect's quoted bare name);
// `sam compile` passes the engine's QualifiedName or a placeholder project.
func (p *Project) Compile(d warehouse.Dialect, qualify func(string) string, vars Vars) (map[string]string, error) {
	if qualify == nil {
		qualify = d.QuoteIdent
	}
	out := map[string]string{}
	for _, name := range p.order {
		m := p.Models[name]
		if m.Kind == Seed {
			continue
		}
		sql, err := render(m.File, m.SQL, p.macros, renderEnv{dialect: d, qualify: qualify, vars: vars})
		if err != nil {
			return nil, err
		}
		out[name] = published(d, m, sql)
	}
	return out, nil
}

// published is the query whose rows model m publishes, from its rendered
// SQL.
func published(d warehouse.Dialect, m *Model, sql string) string {
	if c := m.Config; c.DeduplicateBy != "" {
		return warehouse.Deduplicate(d, sql, c.UniqueKey, c.DeduplicateBy)
	}
	return sql
}

// CompileIncremental renders every incremental model for dialect d as an
// incremental run would: {{ is_incremental }} is true and
// {{ incremental_filter "col" }} bounds col from since, the first partition
// the run replaces. Other models are left out. It is what the runner embeds
// in its statements when a model's version is unchanged and new data
// arrived; checking it offline covers the branch a full build never renders.
func (p *Project) CompileIncremental(d warehouse.Dialect, qualify func(string) string, vars Vars, since time.Time) (map[string]string, error) {
	if since.IsZero() {
		return nil, fmt.Errorf("compile incremental: no start date")
	}
	if qualify == nil {
		qualify = d.QuoteIdent
	}
	out := map[string]string{}
	for _, name := range p.order {
		m := p.Models[name]
		if m.Kind != SQLModel || m.Config.Materialized != Incremental {
			continue
		}
		sql, err := render(m.File, m.SQL, p.macros, renderEnv{dialect: d, qualify: qualify, vars: vars, since: since})
		if err != nil {
			return nil, err
		}
		out[name] = published(d, m, sql)
	}
	return out, nil
}
