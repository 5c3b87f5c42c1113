package salesforce_test

import (
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/tests/salesforcesim"
)

// TestCampaignMembers syncs CampaignMembers incrementally through the
// simulator's fault modes: every member's latest version lands in
// raw_crm__touches, bad ones are rejects.
func TestCampaignMembers(t *testing.T) {
	cases := []struct {
		name string
		cfg  salesforcesim.Config
	}{
		{"clean", salesforcesim.Config{}},
		{"REQUEST_LIMIT_EXCEEDED storm", salesforcesim.Config{RetryAfter: 5 * time.Millisecond, Faults: salesforcesim.Faults{StormFrom: 2, StormLen: 10}}},
		{"5xx", salesforcesim.Config{Faults: salesforcesim.Faults{Every5xx: 3}}},
		{"truncated JSON", salesforcesim.Config{Faults: salesforcesim.Faults{EveryTruncate: 3}}},
		{"duplicates across pages", salesforcesim.Config{PageSize: 300, Faults: salesforcesim.Faults{EveryDuplicate: 2}}},
		{"QUERY_TIMEOUT", salesforcesim.Config{TimeoutAbove: 400}},
		{"changes and deletions mid-sync", salesforcesim.Config{PageSize: 300, Faults: salesforcesim.Faults{EveryMutate: 2, MutateCount: 5, EveryDelete: 3, DeleteCount: 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 200, 50, 0, tc.cfg, 5*time.Second)
			h.sim.SeedCampaignMembers(1500, 200, 97)
			c, err := h.sync(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if c.Read != c.Loaded+c.Rejected {
				t.Errorf("read %d != loaded %d + rejected %d", c.Read, c.Loaded, c.Rejected)
			}
			// An incremental run after more changes picks them up.
			h.sim.SetFaults(salesforcesim.Faults{})
			h.sim.Modify("00v000000000001", "00v000000000002")
			h.sim.Delete("00v000000000003")
			if _, err := h.sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			h.verify(t)
		})
	}
}

func TestCampaignMemberMapping(t *testing.T) {
	h := newHarness(t, 10, 0, 0, salesforcesim.Config{}, 5*time.Second)
	h.sim.SeedCampaignMembers(8, 10, 0)
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := h.wh.Latest(record.TouchesTable, "touch_id")
	// Member 1: a Trade Show campaign (1 % 5), responded; member 4 never
	// responded; member 5: a Webinar.
	m1, m4, m5 := got["00v000000000001"], got["00v000000000004"], got["00v000000000005"]
	if m1.Get("touch_type") != "event" || m1.Get("campaign") != "Trade Show campaign 2" || m1.Get("lead_id") != "00Q000000000001" || m1.Get("touched_at") == nil {
		t.Errorf("member 1 = %v", m1)
	}
	if m4.Get("touched_at") != nil || m4.Get("status") != "Sent" {
		t.Errorf("member 4 (not responded) = touched_at %v, status %v", m4.Get("touched_at"), m4.Get("status"))
	}
	if m5.Get("touch_type") != "webinar" {
		t.Errorf("member 5 = %v, want a webinar", m5)
	}
	if got["00v000000000003"].Get("touch_type") != "direct_mail" || got["00v000000000002"].Get("touch_type") != "campaign_member" {
		t.Errorf("members 2, 3 = %v, %v", got["00v000000000002"], got["00v000000000003"])
	}
}
