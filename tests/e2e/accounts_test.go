package e2e_test

import (
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

// A spam or bot lead with a company-looking email domain never makes an
// account of that domain. Before, every bot of the sample made one
// (domain:lnnwj.example and the like), and "accounts by leads" in a BI tool
// counted spam companies.
func TestSpamLeadsMakeNoAccounts(t *testing.T) {
	w := newWorkspace(t, 22)
	mustRun(t, w)
	db := w.Open()
	defer db.Close()
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM fct_lead_revenue WHERE is_spam`); n == 0 {
		t.Fatal("the sample has no spam lead")
	}
	bad := samtest.QueryStrings(t, db, `
SELECT a.account_id FROM fct_account_revenue a
WHERE a.account_source = 'email_domain'
  AND NOT EXISTS (
    SELECT 1 FROM int_lead_accounts la JOIN fct_lead_revenue l USING (lead_id)
    WHERE la.account_id = a.account_id AND NOT l.is_spam)
ORDER BY 1`)
	if len(bad) != 0 {
		t.Errorf("%d email-domain accounts made by spam leads alone: %v", len(bad), bad)
	}
}
