package record

import "testing"

// NUMERIC holds 29 digits before the point and 9 after. An amount of 29
// nines and a fraction that rounds up passed the range check and then
// failed the whole CRM load ("overflows NUMERIC").
func TestAnAmountThatRoundsPastNUMERICIsRejected(t *testing.T) {
	for _, s := range []string{"99999999999999999999999999999.9999999999", "99999999999999999999999999999.9999999995"} {
		if got, err := ParseAmount(s); err == nil {
			t.Errorf("ParseAmount(%q) = %q; want an error: it rounds to 10^29", s, got)
		}
	}
	if _, err := ParseAmount("99999999999999999999999999999.9999999994"); err != nil {
		t.Errorf("the largest amount that rounds within NUMERIC was rejected: %v", err)
	}
}
