package iso4217

import "testing"

func TestActive(t *testing.T) {
	for _, c := range []string{"USD", "EUR", "JPY", "XCG", "ZWG"} {
		if !Active(c) {
			t.Errorf("%s is active", c)
		}
	}
	for _, c := range []string{"ABC", "usd", "XAU", "XTS", "DEM", "", "US"} {
		if Active(c) {
			t.Errorf("%q is not an active currency", c)
		}
	}
	if len(active) < 150 {
		t.Errorf("only %d codes: the list did not parse", len(active))
	}
}
