package transform

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/sam-attribution/sam/warehouse"
)

// macroDir is the folder of the project's macros: files of
// {{ define "name" }} blocks that every model, test and macro can call with
// {{ macro "name" arg... }}.
const macroDir = "macros"

// maxMacroDepth bounds macros calling macros, so a macro that calls itself
// fails with an error instead of exhausting the stack.
const maxMacroDepth = 50

// macro is one {{ define }} block of a file under macros/.
type macro struct {
	name   string
	pos    string   // file:line where the block's body starts, for errors
	params []string // the names a call's arguments are bound to, in order
}

// macroSet holds the project's macros and the files that define them. It is
// immutable once loaded; a nil *macroSet has no macros.
type macroSet struct {
	files []macroFile // in file name order
	defs  map[string]*macro
	// seeds are the project's seed rows by table name (seed_NAME), which
	// macros read with seed_rows: a macro renders from a seed's content,
	// so a seed edit rebuilds exactly the models whose rendered SQL it
	// changes. Set once by LoadProject.
	seeds map[string][]map[string]string

	// base holds the macros parsed once. A render clones it, sharing the
	// parse trees, where it parsed every file again: a build renders each
	// model twice (plan and build) and every data test, and the parsing was
	// about 60 ms of a 265k-event build.
	baseOnce sync.Once
	base     *template.Template
	baseErr  error
}

type macroFile struct{ name, src string }

// macroParseFuncs names the macro helpers for parsing. params is only for
// macro files, so a model that calls it fails to parse.
func macroParseFuncs(inMacro bool) map[string]any {
	fns := map[string]any{"macro": func(string, ...any) string { return "" }}
	// text/template's builtins, which parse.Parse alone does not know
	for _, name := range []string{"and", "or", "not", "eq", "ne", "len", "index", "printf"} {
		fns[name] = func(...any) any { return nil }
	}
	if inMacro {
		fns["params"] = func(...string) string { return "" }
		fns["seed_rows"] = func(string) []map[string]string { return nil }
	}
	return fns
}

// loadMacros parses every macros/*.sql of fsys. Each file holds only
// {{ define }} blocks (and comments); a block may start with
// {{ params "a" "b" }}, naming the arguments its calls pass, which its body
// reads as {{ .a }} and {{ .b }} ({{ $.a }} inside range or with).
func loadMacros(fsys fs.FS) (*macroSet, error) {
	ms := &macroSet{defs: map[string]*macro{}}
	var errs []error
	err := walkFiles(fsys, macroDir, ".sql", func(file string, src []byte) {
		if err := ms.add(file, string(src)); err != nil {
			errs = append(errs, err)
		}
	})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(ms.files, func(i, j int) bool { return ms.files[i].name < ms.files[j].name })
	return ms, nil
}

func (ms *macroSet) add(file, src string) error {
	trees, err := parse.Parse(file, src, "", "", parseFuncs(), macroParseFuncs(true))
	if err != nil {
		return err // parse errors name the file and line
	}
	names := make([]string, 0, len(trees))
	for name := range trees {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tree := trees[name]
		if name == file {
			if err := checkOutsideDefines(tree); err != nil {
				return err
			}
			continue
		}
		m, err := parseMacro(tree)
		if err != nil {
			return err
		}
		if prev, ok := ms.defs[name]; ok {
			return fmt.Errorf("%s: macro %s is already defined at %s", m.pos, name, prev.pos)
		}
		ms.defs[name] = m
	}
	ms.files = append(ms.files, macroFile{name: file, src: src})
	return nil
}

// checkOutsideDefines rejects text outside the define blocks of a macro
// file: it would never render, so it is most likely a misplaced {{ end }}.
func checkOutsideDefines(tree *parse.Tree) error {
	for _, n := range tree.Root.Nodes {
		if t, ok := n.(*parse.TextNode); ok && strings.TrimSpace(string(t.Text)) == "" {
			continue
		}
		loc, _ := tree.ErrorContext(n)
		return fmt.Errorf("%s: a macro file holds only {{ define }} blocks; this is outside any", loc)
	}
	return nil
}

// parseMacro reads a define block's parameters and checks its body: it reads
// only its parameters, and it calls neither ref nor source, since the graph
// takes a model's dependencies from the model's own text (a macro is given
// the table as an argument: {{ macro "name" (ref "model") }}).
func parseMacro(tree *parse.Tree) (*macro, error) {
	loc, _ := tree.ErrorContext(tree.Root)
	pos := loc[:strings.LastIndex(loc, ":")] // file:line; the column says little here
	if !warehouse.ValidIdentifier(tree.Name) || tree.Name != strings.ToLower(tree.Name) {
		return nil, fmt.Errorf("%s: macro name %q must be lower snake case", pos, tree.Name)
	}
	m := &macro{name: tree.Name, pos: pos}
	paramsAt := parse.Pos(-1) // where the opening params action is
	for _, n := range tree.Root.Nodes {
		if t, ok := n.(*parse.TextNode); ok && strings.TrimSpace(string(t.Text)) == "" {
			continue
		}
		params, at, err := paramsAction(tree, n)
		if err != nil {
			return nil, err
		}
		m.params, paramsAt = params, at
		break
	}
	declared := map[string]bool{}
	for _, p := range m.params {
		declared[p] = true
	}
	var walkErr error
	walkNodes(tree.Root, func(cmd *parse.CommandNode) {
		if walkErr != nil {
			return
		}
		loc, _ := tree.ErrorContext(cmd)
		if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok {
			switch id.Ident {
			case "ref", "source":
				walkErr = fmt.Errorf("%s: macro %s calls %s; pass the table as an argument instead ({{ macro %q (%s ...) }}), so the graph sees the dependency in the model", loc, m.name, id.Ident, m.name, id.Ident)
				return
			case "params":
				if cmd.Position() != paramsAt {
					walkErr = fmt.Errorf("%s: params must be the first action of a macro", loc)
					return
				}
			}
		}
		for _, a := range cmd.Args {
			var field string
			switch a := a.(type) {
			case *parse.FieldNode:
				field = a.Ident[0]
			case *parse.VariableNode:
				if a.Ident[0] == "$" && len(a.Ident) > 1 {
					field = a.Ident[1]
				}
			}
			if field != "" && !declared[field] {
				walkErr = fmt.Errorf("%s: macro %s reads .%s, which its params do not name (params: %s)", loc, m.name, field, paramList(m.params))
				return
			}
		}
	})
	if walkErr != nil {
		return nil, walkErr
	}
	return m, nil
}

// paramsAction returns the names of a {{ params "a" "b" }} action and its
// position; at is -1 when n is another node.
func paramsAction(tree *parse.Tree, n parse.Node) (params []string, at parse.Pos, err error) {
	a, isAction := n.(*parse.ActionNode)
	if !isAction || len(a.Pipe.Cmds) != 1 || len(a.Pipe.Decl) > 0 {
		return nil, -1, nil
	}
	cmd := a.Pipe.Cmds[0]
	if id, isIdent := cmd.Args[0].(*parse.IdentifierNode); !isIdent || id.Ident != "params" {
		return nil, -1, nil
	}
	loc, _ := tree.ErrorContext(cmd)
	seen := map[string]bool{}
	for _, arg := range cmd.Args[1:] {
		s, isString := arg.(*parse.StringNode)
		if !isString || !warehouse.ValidIdentifier(s.Text) {
			return nil, -1, fmt.Errorf("%s: params takes parameter names as string literals, not %s", loc, arg)
		}
		if seen[s.Text] {
			return nil, -1, fmt.Errorf("%s: parameter %q is named twice", loc, s.Text)
		}
		seen[s.Text] = true
		params = append(params, s.Text)
	}
	return params, cmd.Position(), nil
}

func paramList(params []string) string {
	if len(params) == 0 {
		return "none"
	}
	return strings.Join(params, ", ")
}

func (ms *macroSet) lookup(name string) (*macro, bool) {
	if ms == nil {
		return nil, false
	}
	m, ok := ms.defs[name]
	return m, ok
}

// checkCall checks a {{ macro "name" arg... }} command of a model or test
// against the macros: the name is a string literal naming a macro, and the
// call passes one argument per parameter.
func (ms *macroSet) checkCall(loc string, cmd *parse.CommandNode) error {
	if len(cmd.Args) < 2 {
		return fmt.Errorf("%s: macro takes the macro's name and its arguments", loc)
	}
	s, ok := cmd.Args[1].(*parse.StringNode)
	if !ok {
		return fmt.Errorf("%s: macro takes the macro's name as a string literal, not %s", loc, cmd.Args[1])
	}
	m, ok := ms.lookup(s.Text)
	if !ok {
		return fmt.Errorf("%s: macro %q is not defined under %s/%s", loc, s.Text, macroDir, ms.suggest(s.Text))
	}
	if n := len(cmd.Args) - 2; n != len(m.params) {
		return fmt.Errorf("%s: macro %s (%s) takes %d arguments (%s); the call passes %d", loc, m.name, m.pos, len(m.params), paramList(m.params), n)
	}
	return nil
}

func (ms *macroSet) suggest(name string) string {
	if ms == nil {
		return ""
	}
	best, bestD := "", 4
	for m := range ms.defs {
		if d := editDistance(name, m); d < bestD || (d == bestD && m < best) {
			best, bestD = m, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// template returns a new template named file in a set of its own that
// holds the macros: Funcs and Parse on it change no other render's set.
func (ms *macroSet) template(file string) (*template.Template, error) {
	if ms == nil {
		return template.New(file).Option("missingkey=error"), nil
	}
	ms.baseOnce.Do(func() {
		// Parsing needs every helper's name; a render sets its own.
		t := template.New("").Option("missingkey=error").Funcs(renderEnv{}.funcs())
		t.Funcs(ms.funcs(t))
		ms.base, ms.baseErr = t, ms.parseInto(t)
	})
	if ms.baseErr != nil {
		return nil, ms.baseErr
	}
	set, err := ms.base.Clone()
	if err != nil {
		return nil, err
	}
	return set.New(file), nil
}

// parseInto adds the macros' define blocks to t.
func (ms *macroSet) parseInto(t *template.Template) error {
	if ms == nil {
		return nil
	}
	for _, f := range ms.files {
		if _, err := t.New(f.name).Parse(f.src); err != nil {
			return err
		}
	}
	return nil
}

// funcs returns the macro helpers for one rendering of t, whose template
// set holds the macros.
func (ms *macroSet) funcs(t *template.Template) template.FuncMap {
	depth := 0 // a rendering runs on one goroutine
	return template.FuncMap{
		"params": func(...string) string { return "" },
		// seed_rows "NAME" returns the rows of seeds/NAME.csv in file
		// order, each a map from column to cell ("" for an empty cell).
		"seed_rows": func(name string) ([]map[string]string, error) {
			rows, ok := ms.seeds["seed_"+name]
			if !ok {
				return nil, fmt.Errorf("seed_rows: no seed %s.csv under seeds/", name)
			}
			return rows, nil
		},
		"macro": func(name string, args ...any) (string, error) {
			m, ok := ms.lookup(name)
			if !ok {
				return "", fmt.Errorf("macro %q is not defined under %s/%s", name, macroDir, ms.suggest(name))
			}
			if len(args) != len(m.params) {
				return "", fmt.Errorf("macro %s (%s) takes %d arguments (%s); the call passes %d", name, m.pos, len(m.params), paramList(m.params), len(args))
			}
			if depth >= maxMacroDepth {
				return "", fmt.Errorf("macro %s: macros nest deeper than %d; does one call itself?", name, maxMacroDepth)
			}
			data := make(map[string]any, len(args))
			for i, a := range args {
				s, err := macroArg(a)
				if err != nil {
					return "", fmt.Errorf("macro %s, argument %s: %w", name, m.params[i], err)
				}
				data[m.params[i]] = s
			}
			depth++
			defer func() { depth-- }()
			var b strings.Builder
			if err := t.ExecuteTemplate(&b, name, data); err != nil {
				return "", err // names the macro's file and line
			}
			return b.String(), nil
		},
	}
}

// macroArg turns a call's argument into the SQL text the macro pastes.
func macroArg(a any) (string, error) {
	switch x := a.(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", fmt.Errorf("%v is a %T; arguments are SQL expressions (strings) or integers", a, a)
}

// setSeeds gives the macros the seeds' rows as text.
func (ms *macroSet) setSeeds(models map[string]*Model) {
	if ms == nil {
		return
	}
	ms.seeds = map[string][]map[string]string{}
	for name, m := range models {
		if m.Kind != Seed {
			continue
		}
		rows := make([]map[string]string, 0, len(m.seed.rows))
		for _, r := range m.seed.rows {
			row := make(map[string]string, len(r))
			for i, c := range m.seed.schema.Columns {
				if r[i] != nil {
					row[c.Name] = fmt.Sprint(r[i])
				} else {
					row[c.Name] = ""
				}
			}
			rows = append(rows, row)
		}
		ms.seeds[name] = rows
	}
}
