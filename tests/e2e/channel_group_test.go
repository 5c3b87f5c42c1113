package e2e_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/tests/samtest"
	"github.com/sam-attribution/sam/transform"
)

// useProjectCopy writes the embedded SQL project to a models directory in
// w, points SAM_MODELS_DIR at it, and returns its path, so a test can edit
// the project.
func useProjectCopy(t *testing.T, w *samtest.Workspace) string {
	t.Helper()
	models := w.Path("models")
	if err := fs.WalkDir(sqlmodels.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := fs.ReadFile(sqlmodels.FS, p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(models, filepath.Dir(p)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(models, p), b, 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	w.Env = append(w.Env, "SAM_MODELS_DIR="+models)
	return models
}

// planned returns the models `sam plan` would rebuild.
func planned(out string) []string {
	var got []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] != "LEVEL" && !strings.Contains(line, "would rebuild") && f[3] != string(transform.ActionSkip) {
			got = append(got, f[1])
		}
	}
	sort.Strings(got)
	return got
}

// withDownstream returns names and every model built from them.
func withDownstream(t *testing.T, names ...string) []string {
	t.Helper()
	p, err := transform.LoadProject(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, d := range p.Downstream(n) {
			walk(d)
		}
	}
	for _, n := range names {
		walk(n)
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TestChannelGroupChangesPlanExactlyTheirModels: after a full run,
// switching SAM_CHANNEL_GROUP, or editing a rule of the selected group in
// seeds/channel_groups.csv, plans exactly the two models that group
// channels (sessions and spend) and what is built from them; editing a
// group that is not selected rebuilds only the seed table.
func TestChannelGroupChangesPlanExactlyTheirModels(t *testing.T) {
	w := newWorkspace(t, 7)
	// The project as a models directory, so a test can edit the seed.
	models := useProjectCopy(t, w)
	w.MustRun("run", "--stages", "load_ga4,load_crm,load_spend,transform")

	if got := planned(w.MustRun("plan")); len(got) != 0 {
		t.Fatalf("after the run, plan rebuilds %v", got)
	}
	// Sessions, spend and CRM touches (whose channel falls back to the
	// group's rules) call the channel_group macro.
	want := withDownstream(t, "stg_ga4__sessions", "stg_spend__daily", "stg_crm__touches")

	env := w.Env
	w.Env = append(env, "SAM_CHANNEL_GROUP=ai_assistants")
	if got := planned(w.MustRun("plan")); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("switching to ai_assistants plans\n%v\nwant\n%v", got, want)
	}
	w.Env = env

	seed := filepath.Join(models, "seeds", "channel_groups.csv")
	orig, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) {
		t.Helper()
		if !strings.Contains(string(orig), old) {
			t.Fatalf("seed lacks %q", old)
		}
		if err := os.WriteFile(seed, []byte(strings.Replace(string(orig), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A rule of the group not selected: only the seed table reloads.
	edit("ai_assistants,Referral,,,^(referral|app|link)$,", "ai_assistants,Referral,,,^(referral|app|link|partner)$,")
	if got := planned(w.MustRun("plan")); strings.Join(got, ",") != "seed_channel_groups" {
		t.Errorf("editing the unselected group plans %v, want only seed_channel_groups", got)
	}
	// A rule of the selected group: the seed and the channel models.
	edit("default,Referral,,,^(referral|app|link)$,", "default,Referral,,,^(referral|app|link|partner)$,")
	wantEdit := withDownstream(t, "seed_channel_groups", "stg_ga4__sessions", "stg_spend__daily", "stg_crm__touches")
	if got := planned(w.MustRun("plan")); strings.Join(got, ",") != strings.Join(wantEdit, ",") {
		t.Errorf("editing the selected group plans\n%v\nwant\n%v", got, wantEdit)
	}
}
