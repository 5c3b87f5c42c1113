package file_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/crm/record"
)

func TestOfflineTouches(t *testing.T) {
	r := newRun(t, dir(t, "offline_touches.csv"), 1000)
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Read != 11 || c.Loaded != 4 || c.Rejected != 7 {
		t.Errorf("counts = %+v, want read 11 = loaded 4 + rejected 7", c)
	}
	touches := r.wh.Latest(record.TouchesTable, "touch_id")
	if len(touches) != 4 {
		t.Fatalf("loaded %d touches, want 4: %v", len(touches), touches)
	}
	t1 := touches["T1"]
	if t1.Get("lead_id") != "L1" || t1.Get("touch_type") != "webinar" || t1.Get("campaign") != "Spring webinar" ||
		!t1.Get("touched_at").(time.Time).Equal(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("T1 = %v", t1)
	}
	if got := touches["T3"].Get("channel"); got != "Field Sales" {
		t.Errorf("T3 channel = %v, want the file's Field Sales", got)
	}
	var mail record.Touch
	for id, row := range touches {
		if row.Get("touch_type") == "direct_mail" {
			mail.ID, mail.EmailSHA256 = id, row.Get("email_sha256").(string)
		}
	}
	if len(mail.ID) < 3 || mail.ID[:2] != "h:" || mail.EmailSHA256 != "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae" {
		t.Errorf("direct mail touch = id %q, email hash %q; want a derived id and the lower-cased hash", mail.ID, mail.EmailSHA256)
	}
	want := map[string]string{
		"T5,L1,,2024-03-05T10:00:00Z,podcast,,,,":          `unknown type "podcast"`,
		"T6,,,2024-03-05T10:00:00Z,call,,,,":               "neither lead_id nor email_sha256",
		"T7,L1,abc,2024-03-05T10:00:00Z,call,,,,":          "email_sha256 is not 64 hex digits",
		"T8,L1,,,call,,,,":                                 "touched_at is not set",
		"T9,L1,,yesterday,call,,,,":                        "unparseable timestamp",
		"T10,L1,,2099-01-01T00:00:00Z,call,,,,":            "in the future",
		"T11,L1,,2024-03-05T10:00:00Z,campaign_member,,,,": "comes from a CRM",
	}
	got := rejects(r.wh)
	for raw, reason := range want {
		if !strings.Contains(got[raw], reason) {
			t.Errorf("reject of %q = %q, want it to say %q", raw, got[raw], reason)
		}
	}
	// A second run over the same file loads nothing again.
	c, err = r.sync(t)
	if err != nil || c.Read != 0 {
		t.Errorf("second run = %+v, %v; want nothing read", c, err)
	}
}

// A touch without touch_id is a version of the touch its lead, type and
// time name, so a channel changed back loads again, as a lead's email does
// (TestARowChangedBackLoadsAgain).
func TestATouchWithoutIDChangedBackLoadsAgain(t *testing.T) {
	d := t.TempDir()
	path := filepath.Join(d, "offline_touches.csv")
	r := newRun(t, d, 1000)
	for _, channel := range []string{"Events", "Field Sales", "Events"} {
		text := "lead_id,touched_at,type,channel\n" +
			"L1,2024-03-01T10:00:00Z,webinar," + channel + "\n" +
			"L2,2024-04-01T10:00:00Z,call,Inside Sales\n"
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := r.sync(t); err != nil {
			t.Fatal(err)
		}
		var got []any
		for _, row := range r.wh.Latest(record.TouchesTable, "touch_id") {
			if row.Get("lead_id") == "L1" {
				got = append(got, row.Get("channel"))
			}
		}
		if len(got) != 1 || got[0] != channel {
			t.Fatalf("after loading the file with %s, L1's touch channels are %v", channel, got)
		}
	}
}
