package transform

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template/parse"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sam-attribution/sam/warehouse"
)

// modelDirs are the folders holding models, in the order files are listed.
var modelDirs = []string{"staging", "intermediate", "marts"}

// Project is a parsed set of models, custom tests and seeds with their
// dependency graph. It is immutable once loaded and safe for concurrent use.
type Project struct {
	// Models by name, including seeds (Kind Seed).
	Models map[string]*Model
	// Tests are the custom tests from tests/*.sql.
	Tests []*CustomTest
	// Sources lists every source() a model or test reads, by raw table name.
	Sources map[string]Source
	// order is a topological order of Models; levels groups it.
	order  []string
	levels [][]string
	// downstream maps a model to the models that ref it directly.
	downstream map[string][]string
	// pendingRefs collects refs while loading, checked once all files are in.
	pendingRefs refList
	// macros are the define blocks under macros/, parsed with every render.
	macros *macroSet
}

// Kind distinguishes SQL models from seeds.
type Kind int

const (
	SQLModel Kind = iota
	Seed
)

// Model is one node of the graph: a SQL model or a seed table.
type Model struct {
	Name   string
	Kind   Kind
	File   string // path inside the project FS
	Config Config
	// SQL is the template text (the whole file, header included).
	SQL string
	// Refs and SourceRefs are the dependencies found in the template,
	// sorted and without duplicates. Relationship tests add their targets
	// to the tests' dependencies, not to the model's.
	Refs       []string
	SourceRefs []string
	// Level is the model's position in the graph: 0 has no model
	// dependencies, a model's level is one more than its deepest ref.
	Level int
	// seed holds a seed's parsed content.
	seed *seedData
	// refPos is where each ref first appears (file:line:col), for errors.
	refPos map[string]string
}

// Source is a raw table read with {{ source "x" "y" }}: raw_x__y, written by
// the loaders. It is an external node of the graph.
type Source struct {
	Source, Name string
	Table        string
}

// CustomTest is a query under tests/ that must return zero rows.
type CustomTest struct {
	Name        string
	File        string
	Description string
	Severity    Severity // from the header; error when unset
	SQL         string
	Refs        []string
	SourceRefs  []string
}

// LoadProject parses the macros under macros/, every model under staging/,
// intermediate/ and marts/ (*.sql, recursively), the custom tests under
// tests/ and the seeds under seeds/, and builds the dependency graph from the
// ref and source calls in the templates. Missing folders count as empty.
// Errors name the file and, where there is one, the line.
func LoadProject(fsys fs.FS) (*Project, error) {
	macros, err := loadMacros(fsys)
	if err != nil {
		return nil, err
	}
	p := &Project{
		Models:     map[string]*Model{},
		Sources:    map[string]Source{},
		downstream: map[string][]string{},
		macros:     macros,
	}
	var errs []error
	for _, dir := range modelDirs {
		err := walkFiles(fsys, dir, ".sql", func(file string, src []byte) {
			if err := p.addModel(file, string(src)); err != nil {
				errs = append(errs, err)
			}
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := walkFiles(fsys, "seeds", ".csv", func(file string, src []byte) {
		if err := p.addSeed(fsys, file, src); err != nil {
			errs = append(errs, err)
		}
	}); err != nil {
		errs = append(errs, err)
	}
	p.macros.setSeeds(p.Models)
	if err := walkFiles(fsys, "tests", ".sql", func(file string, src []byte) {
		if err := p.addTest(file, string(src)); err != nil {
			errs = append(errs, err)
		}
	}); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(p.Models) == 0 {
		// Most likely a mistyped SAM_MODELS_DIR: say so rather than build
		// nothing.
		return nil, ErrNoModels
	}
	if err := p.link(); err != nil {
		return nil, err
	}
	return p, nil
}

// ErrNoModels is LoadProject's error for a project without models: most
// likely a mistyped models folder, which the caller can name.
var ErrNoModels = errors.New("no models found under staging/, intermediate/, marts/ or seeds/")

// ProjectFS returns the models to load: the directory overrideDir when set
// (SAM_MODELS_DIR, laid out like sql/), otherwise the embedded models. The
// override replaces the embedded set as a whole rather than merging, so what
// runs is exactly what is in the directory.
func ProjectFS(embedded fs.FS, overrideDir string) fs.FS {
	if overrideDir == "" {
		return embedded
	}
	return os.DirFS(overrideDir)
}

func walkFiles(fsys fs.FS, dir, ext string, fn func(file string, src []byte)) error {
	err := fs.WalkDir(fsys, dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(file) != ext {
			return nil
		}
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			return err
		}
		fn(file, src)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	return nil
}

func modelName(file string) string { return strings.TrimSuffix(path.Base(file), path.Ext(file)) }

func (p *Project) claim(name, file string) error {
	if err := warehouse.CheckIdentifier("model name", name); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if name != strings.ToLower(name) {
		return fmt.Errorf("%s: model name %q must be lower snake case", file, name)
	}
	if prev, ok := p.Models[name]; ok {
		return fmt.Errorf("%s: model %s is already defined in %s", file, name, prev.File)
	}
	return nil
}

// reservedPrefixes belong to the loaders' raw tables, seeds and the
// runner's own tables.
var reservedPrefixes = []string{"raw_", "seed_", "sam_"}

func (p *Project) addModel(file, src string) error {
	name := modelName(file)
	if err := p.claim(name, file); err != nil {
		return err
	}
	for _, prefix := range reservedPrefixes {
		if strings.HasPrefix(name, prefix) {
			return fmt.Errorf("%s: model names must not start with %s (reserved for loaders, seeds and the runner)", file, prefix)
		}
	}
	if strings.HasSuffix(name, tmpSuffix) {
		return fmt.Errorf("%s: model names must not end with %s (the runner's temporary tables)", file, tmpSuffix)
	}
	cfg, err := parseHeader(file, src)
	if err != nil {
		return err
	}
	refs, sources, err := dependencies(file, src, p.macros)
	if err != nil {
		return err
	}
	m := &Model{Name: name, Kind: SQLModel, File: file, Config: cfg, SQL: src, Refs: refs.names(), SourceRefs: sources.names(), refPos: map[string]string{}}
	for _, r := range refs {
		if _, ok := m.refPos[r.name]; !ok {
			m.refPos[r.name] = r.pos
		}
	}
	if ld := cfg.LoadedDays; ld != nil {
		var tables []string
		for _, src := range m.SourceRefs {
			s, n, _ := strings.Cut(src, ".")
			tables = append(tables, rawTable(s, n))
		}
		if !slices.Contains(tables, ld.Source) {
			return fmt.Errorf("%s: loaded_days source %s is not a table the model reads (%s)", file, ld.Source, strings.Join(tables, ", "))
		}
	}
	p.Models[name] = m
	for i, r := range refs {
		if r.name == name {
			return fmt.Errorf("%s: model %s refs itself", refs[i].pos, name)
		}
	}
	p.pendingRefs = append(p.pendingRefs, refs...)
	p.addSources(sources)
	return nil
}

func (p *Project) addTest(file, src string) error {
	name := modelName(file)
	for _, t := range p.Tests {
		if t.Name == name {
			return fmt.Errorf("%s: test %s is already defined in %s", file, name, t.File)
		}
	}
	// A header, when present, may only describe the test.
	cfg, err := parseTestHeader(file, src)
	if err != nil {
		return err
	}
	refs, sources, err := dependencies(file, src, p.macros)
	if err != nil {
		return err
	}
	p.Tests = append(p.Tests, &CustomTest{Name: name, File: file, Description: cfg.Description, Severity: cfg.Severity.orDefault(), SQL: src, Refs: refs.names(), SourceRefs: sources.names()})
	p.pendingRefs = append(p.pendingRefs, refs...)
	p.addSources(sources)
	return nil
}

func parseTestHeader(file, src string) (Config, error) {
	cfg, err := parseHeader(file, src)
	if err != nil {
		return Config{}, err
	}
	if cfg.Materialized != View || cfg.PartitionBy != "" || len(cfg.UniqueKey) > 0 || cfg.Tests.declared() {
		return Config{}, fmt.Errorf("%s: a custom test's header may only hold description and severity", file)
	}
	return cfg, nil
}

func (p *Project) addSources(sources refList) {
	for _, s := range sources {
		src, name, _ := strings.Cut(s.name, ".")
		table := rawTable(src, name)
		p.Sources[table] = Source{Source: src, Name: name, Table: table}
	}
}

// rawTable is the loaders' table behind source(src, name).
func rawTable(src, name string) string { return "raw_" + src + "__" + name }

// seedData is a parsed seed CSV.
type seedData struct {
	schema warehouse.Schema
	rows   [][]any
	hash   string
}

// seedConfig is the optional NAME.yml next to a seed.
type seedConfig struct {
	Description string            `yaml:"description"`
	Columns     map[string]string `yaml:"columns"`
}

func (p *Project) addSeed(fsys fs.FS, file string, src []byte) error {
	name := "seed_" + modelName(file)
	if err := p.claim(name, file); err != nil {
		return err
	}
	h := sha256.New()
	h.Write(src)
	var cfg seedConfig
	ymlFile := strings.TrimSuffix(file, ".csv") + ".yml"
	if yml, err := fs.ReadFile(fsys, ymlFile); err == nil {
		h.Write([]byte{0})
		h.Write(yml)
		dec := yaml.NewDecoder(strings.NewReader(string(yml)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: %w", ymlFile, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", ymlFile, err)
	}
	data, err := parseSeed(file, src, cfg)
	if err != nil {
		return err
	}
	data.hash = hex.EncodeToString(h.Sum(nil))
	p.Models[name] = &Model{Name: name, Kind: Seed, File: file, Config: Config{Materialized: Table, Description: cfg.Description}, seed: data}
	return nil
}

func parseSeed(file string, src []byte, cfg seedConfig) (*seedData, error) {
	r := csv.NewReader(strings.NewReader(string(src)))
	records, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("%s: no header row", file)
	}
	d := &seedData{}
	seen := map[string]bool{}
	for _, col := range records[0] {
		col = strings.TrimSpace(col)
		if err := warehouse.CheckIdentifier("column", col); err != nil {
			return nil, fmt.Errorf("%s:1: %w", file, err)
		}
		typ := warehouse.String
		if t, ok := cfg.Columns[col]; ok {
			typ = warehouse.Type(strings.ToUpper(t))
			if _, ok := seedParsers[typ]; !ok {
				return nil, fmt.Errorf("%s: column %s has unsupported type %s", file, col, t)
			}
		}
		seen[col] = true
		d.schema.Columns = append(d.schema.Columns, warehouse.Column{Name: col, Type: typ})
	}
	for col := range cfg.Columns {
		if !seen[col] {
			return nil, fmt.Errorf("%s: the .yml types column %s, which the CSV does not have", file, col)
		}
	}
	for i, rec := range records[1:] {
		row := make([]any, len(rec))
		for j, cell := range rec {
			if cell == "" {
				continue // empty cells are NULL
			}
			v, err := seedParsers[d.schema.Columns[j].Type](cell)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: column %s: %w", file, i+2, d.schema.Columns[j].Name, err)
			}
			row[j] = v
		}
		d.rows = append(d.rows, row)
	}
	return d, nil
}

// seedParsers convert CSV cells to the Go values Load expects per type.
var seedParsers = map[warehouse.Type]func(string) (any, error){
	warehouse.String: func(s string) (any, error) { return s, nil },
	warehouse.Int64: func(s string) (any, error) {
		return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	},
	warehouse.Float64: func(s string) (any, error) {
		return strconv.ParseFloat(strings.TrimSpace(s), 64)
	},
	warehouse.Numeric: func(s string) (any, error) {
		// NUMERIC travels as its decimal text; engines parse it exactly.
		if _, ok := new(big.Rat).SetString(strings.TrimSpace(s)); !ok {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return strings.TrimSpace(s), nil
	},
	warehouse.Bool: func(s string) (any, error) {
		return strconv.ParseBool(strings.TrimSpace(s))
	},
	warehouse.Date: func(s string) (any, error) {
		return time.Parse(time.DateOnly, strings.TrimSpace(s))
	},
	warehouse.Timestamp: func(s string) (any, error) {
		return time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	},
}

// link checks every ref, finds cycles and assigns levels.
func (p *Project) link() error {
	var errs []error
	for _, r := range p.pendingRefs {
		if _, ok := p.Models[r.name]; !ok {
			errs = append(errs, fmt.Errorf("%s: unknown ref %q%s", r.pos, r.name, suggest(r.name, p.Models)))
		}
	}
	for _, m := range p.sortedModels() {
		for col, target := range m.Config.Tests.Relationships {
			tm, _, _ := splitRelationship(target)
			if _, ok := p.Models[tm]; !ok {
				errs = append(errs, fmt.Errorf("%s: relationships test on %s names unknown model %q", m.File, col, tm))
			}
		}
	}
	p.pendingRefs = nil
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, m := range p.Models {
		for _, r := range m.Refs {
			p.downstream[r] = append(p.downstream[r], m.Name)
		}
	}
	for _, d := range p.downstream {
		sort.Strings(d)
	}
	// Depth-first search over sorted names: deterministic order, and the
	// grey path is the cycle when a back edge shows up.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(name string) error
	visit = func(name string) error {
		switch color[name] {
		case black:
			return nil
		case grey:
			i := len(stack) - 1
			for stack[i] != name {
				i--
			}
			cycle := append(append([]string{}, stack[i:]...), name)
			// Point at the ref that closes the cycle.
			last := p.Models[stack[len(stack)-1]]
			return fmt.Errorf("%s: ref cycle: %s", last.refPos[name], strings.Join(cycle, " -> "))
		}
		color[name] = grey
		stack = append(stack, name)
		m := p.Models[name]
		level := 0
		for _, r := range m.Refs {
			if err := visit(r); err != nil {
				return err
			}
			level = max(level, p.Models[r].Level+1)
		}
		m.Level = level
		stack = stack[:len(stack)-1]
		color[name] = black
		p.order = append(p.order, name)
		return nil
	}
	for _, m := range p.sortedModels() {
		if err := visit(m.Name); err != nil {
			return err
		}
	}
	for _, name := range p.order {
		l := p.Models[name].Level
		for len(p.levels) <= l {
			p.levels = append(p.levels, nil)
		}
		p.levels[l] = append(p.levels[l], name)
	}
	for _, lv := range p.levels {
		sort.Strings(lv)
	}
	sort.Slice(p.Tests, func(i, j int) bool { return p.Tests[i].Name < p.Tests[j].Name })
	return nil
}

func (p *Project) sortedModels() []*Model {
	out := make([]*Model, 0, len(p.Models))
	for _, m := range p.Models {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SeedRows returns the rows of seeds/NAME.csv in file order, each a map
// from column to cell ("" for an empty cell), as macros read them with
// seed_rows; ok is false when the project has no such seed. The rows are
// the project's own: the caller must not change them.
func (p *Project) SeedRows(name string) (rows []map[string]string, ok bool) {
	if p.macros == nil {
		return nil, false
	}
	rows, ok = p.macros.seeds["seed_"+name]
	return rows, ok
}

// Levels returns the model names grouped by graph level: every model's refs
// are in earlier levels, so the models of one level can build in parallel.
func (p *Project) Levels() [][]string {
	out := make([][]string, len(p.levels))
	for i, l := range p.levels {
		out[i] = append([]string(nil), l...)
	}
	return out
}

// Downstream returns the models that ref name directly.
func (p *Project) Downstream(name string) []string {
	return append([]string(nil), p.downstream[name]...)
}

// suggest offers the closest model name for a misspelt ref.
func suggest(name string, models map[string]*Model) string {
	best, bestD := "", 4
	for m := range models {
		if d := editDistance(name, m); d < bestD || (d == bestD && m < best) {
			best, bestD = m, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ref is one ref or source call found in a template, with its position.
type ref struct {
	name string // model name, or "source.name" for sources
	pos  string // file:line:col
}

type refList []ref

func (l refList) names() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range l {
		if !seen[r.name] {
			seen[r.name] = true
			out = append(out, r.name)
		}
	}
	sort.Strings(out)
	return out
}

// dependencies parses the template and collects every ref and source call,
// in every branch (an {{ if is_incremental }} branch included), so the
// graph does not depend on the values a run happens to render with. It also
// checks the template's macro calls against macros.
func dependencies(file, src string, macros *macroSet) (refs, sources refList, err error) {
	trees, err := parse.Parse(file, src, "", "", parseFuncs(), macroParseFuncs(false))
	if err != nil {
		return nil, nil, err // parse errors name the file and line
	}
	for name, tree := range trees {
		if m, ok := macros.lookup(name); ok && name != file {
			loc, _ := tree.ErrorContext(tree.Root)
			return nil, nil, fmt.Errorf("%s: defines %s, the name of the macro at %s", loc, name, m.pos)
		}
		var walkErr error
		walkNodes(tree.Root, func(cmd *parse.CommandNode) {
			if walkErr != nil || len(cmd.Args) == 0 {
				return
			}
			id, ok := cmd.Args[0].(*parse.IdentifierNode)
			if !ok {
				return
			}
			loc, _ := tree.ErrorContext(cmd)
			if id.Ident == "macro" {
				walkErr = macros.checkCall(loc, cmd)
				return
			}
			if id.Ident != "ref" && id.Ident != "source" {
				return
			}
			var args []string
			for _, a := range cmd.Args[1:] {
				s, ok := a.(*parse.StringNode)
				if !ok {
					walkErr = fmt.Errorf("%s: %s takes string literals, not %s", loc, id.Ident, a)
					return
				}
				args = append(args, s.Text)
			}
			switch {
			case id.Ident == "ref" && len(args) == 1:
				refs = append(refs, ref{name: args[0], pos: loc})
			case id.Ident == "source" && len(args) == 2:
				for _, a := range args {
					if !warehouse.ValidIdentifier(a) {
						walkErr = fmt.Errorf("%s: source name %q is not a valid identifier", loc, a)
						return
					}
				}
				sources = append(sources, ref{name: args[0] + "." + args[1], pos: loc})
			case id.Ident == "ref":
				walkErr = fmt.Errorf("%s: ref takes one model name", loc)
			default:
				walkErr = fmt.Errorf("%s: source takes a source and a table name", loc)
			}
		})
		if walkErr != nil {
			return nil, nil, walkErr
		}
	}
	return refs, sources, nil
}

func walkNodes(n parse.Node, fn func(*parse.CommandNode)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkNodes(c, fn)
		}
	case *parse.ActionNode:
		walkNodes(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkNodes(c, fn)
		}
	case *parse.CommandNode:
		fn(n)
		for _, a := range n.Args {
			walkNodes(a, fn)
		}
	case *parse.IfNode:
		walkNodes(n.Pipe, fn)
		walkNodes(n.List, fn)
		walkNodes(n.ElseList, fn)
	case *parse.RangeNode:
		walkNodes(n.Pipe, fn)
		walkNodes(n.List, fn)
		walkNodes(n.ElseList, fn)
	case *parse.WithNode:
		walkNodes(n.Pipe, fn)
		walkNodes(n.List, fn)
		walkNodes(n.ElseList, fn)
	case *parse.TemplateNode:
		walkNodes(n.Pipe, fn)
	}
}
