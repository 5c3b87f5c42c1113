package transform

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sam-attribution/sam/warehouse"
)

// Selection chooses the models a Plan, Build or Test covers. The zero
// Selection selects every model.
type Selection struct {
	terms []selTerm
}

type selTerm struct {
	name             string
	upstream, downst bool
}

// ParseSelection parses a comma-separated list of terms: "model" selects the
// model, "model+" adds everything downstream of it, "+model" everything
// upstream, "+model+" both. The empty string selects everything.
func ParseSelection(s string) (Selection, error) {
	var sel Selection
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		t := selTerm{}
		if strings.HasPrefix(part, "+") {
			t.upstream, part = true, part[1:]
		}
		if strings.HasSuffix(part, "+") {
			t.downst, part = true, part[:len(part)-1]
		}
		if !warehouse.ValidIdentifier(part) {
			return Selection{}, fmt.Errorf("selection %q: %q is not a model name (want model, model+, +model or +model+)", s, part)
		}
		t.name = part
		sel.terms = append(sel.terms, t)
	}
	return sel, nil
}

// String returns the selection in the syntax ParseSelection reads.
func (s Selection) String() string {
	var parts []string
	for _, t := range s.terms {
		p := t.name
		if t.upstream {
			p = "+" + p
		}
		if t.downst {
			p += "+"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ",")
}

// All reports whether the selection selects every model.
func (s Selection) All() bool { return len(s.terms) == 0 }

// Check reports the models the selection names that p does not have, with
// what each may have meant, so a caller can refuse it before any work.
func (s Selection) Check(p *Project) error {
	_, err := s.resolve(p)
	return err
}

// resolve returns the selected model names, or an error naming unknown ones.
func (s Selection) resolve(p *Project) (map[string]bool, error) {
	out := map[string]bool{}
	if s.All() {
		for name := range p.Models {
			out[name] = true
		}
		return out, nil
	}
	var unknown []string
	for _, t := range s.terms {
		if _, ok := p.Models[t.name]; !ok {
			unknown = append(unknown, t.name+suggest(t.name, p.Models))
			continue
		}
		out[t.name] = true
		if t.upstream {
			p.walk(t.name, func(m *Model) []string { return m.Refs }, out)
		}
		if t.downst {
			p.walk(t.name, func(m *Model) []string { return p.downstream[m.Name] }, out)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("selection: unknown model %s", strings.Join(unknown, ", "))
	}
	return out, nil
}

func (p *Project) walk(name string, next func(*Model) []string, seen map[string]bool) {
	for _, n := range next(p.Models[name]) {
		if !seen[n] {
			seen[n] = true
			p.walk(n, next, seen)
		}
	}
}
