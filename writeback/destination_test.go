package writeback

import (
	"strings"
	"testing"
)

func TestDestinationValidateNamesTheField(t *testing.T) {
	ok := Destination{Mode: ModeSend, MeasurementID: "G-ABC123DEF4", APISecret: "s", Endpoint: "https://www.google-analytics.com",
		Concurrency: 1, RatePerSecond: 1}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Destination){
		"MeasurementID": func(d *Destination) { d.MeasurementID = "" },
		"APISecret":     func(d *Destination) { d.APISecret = "" },
		"Endpoint":      func(d *Destination) { d.Endpoint = "ftp://x" },
		"Mode":          func(d *Destination) { d.Mode = "loud" },
		"Concurrency":   func(d *Destination) { d.Concurrency = 0 },
	}
	for field, change := range cases {
		d := ok
		change(&d)
		err := d.Validate()
		if err == nil || !strings.Contains(err.Error(), field) || strings.Contains(err.Error(), "SAM_") {
			t.Errorf("%s: want an error naming the field (not a variable), got %v", field, err)
		}
	}
	// Local and dry-run modes send to no GA4 stream: an empty id is fine.
	local := Destination{Mode: ModeLocal, Concurrency: 1, RatePerSecond: 1}
	if err := local.Validate(); err != nil {
		t.Errorf("local: %v", err)
	}
}
