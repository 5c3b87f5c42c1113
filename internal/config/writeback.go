package config

import "fmt"

// Writeback configures the GA4 Measurement Protocol writer.
type Writeback struct {
	Mode          string `envconfig:"WRITEBACK_MODE" default:"local" desc:"off, local (send to a local GA4 sink started by sam), send, validate (debug endpoint, fail on any validation message) or dry-run (print payloads)"`
	MeasurementID string `envconfig:"GA4_MEASUREMENT_ID" default:"G-SAMLOCAL01" desc:"GA4 web stream measurement id"`
	APISecret     Secret `envconfig:"GA4_API_SECRET" desc:"Measurement Protocol api_secret (secret)"`
	Endpoint      string `envconfig:"GA4_MP_ENDPOINT" default:"https://www.google-analytics.com" desc:"Measurement Protocol base URL, scheme and host only (SAM appends /mp/collect); https://region1.google-analytics.com for the EU endpoint"`
	Concurrency   int    `envconfig:"WRITEBACK_CONCURRENCY" default:"8" desc:"requests in flight at once, per destination; at most 100"`
	RatePerSecond int    `envconfig:"WRITEBACK_RATE" default:"200" desc:"requests per second at most"`
	SinkFile      string `envconfig:"GA4_SINK_FILE" default:"./data/ga4sink.ndjson" desc:"local mode: file where the local GA4 sink keeps what it received"`
}

// maxWritebackConcurrency caps SAM_WRITEBACK_CONCURRENCY. Every request in
// flight is one whose outcome a killed run leaves unknown (the crash window
// an operator resolves by hand), and the GA4 sender's rate limiter lets
// that many requests start at once whatever SAM_WRITEBACK_RATE says.
const maxWritebackConcurrency = 100

func (w Writeback) validate() error {
	if err := oneOf("WRITEBACK_MODE", w.Mode, "off", "local", "send", "validate", "dry-run"); err != nil {
		return err
	}
	if err := checkSecret("GA4_API_SECRET", w.APISecret); err != nil {
		return err
	}
	if (w.Mode == "send" || w.Mode == "validate") && w.APISecret == "" {
		return bad("GA4_API_SECRET", "", "must be set when SAM_WRITEBACK_MODE=%s", w.Mode)
	}
	// Empty keeps the local sink's events in memory.
	if w.Mode == "local" && w.SinkFile != "" {
		if err := checkNewFile("GA4_SINK_FILE", w.SinkFile); err != nil {
			return err
		}
	}
	if err := positive("WRITEBACK_CONCURRENCY", w.Concurrency); err != nil {
		return err
	}
	if w.Concurrency > maxWritebackConcurrency {
		return bad("WRITEBACK_CONCURRENCY", fmt.Sprint(w.Concurrency), "must be at most %d: each request in flight is one a killed run leaves with an unknown outcome, and that many start at once whatever SAM_WRITEBACK_RATE says", maxWritebackConcurrency)
	}
	if err := positive("WRITEBACK_RATE", w.RatePerSecond); err != nil {
		return err
	}
	return checkBaseURL("GA4_MP_ENDPOINT", w.Endpoint)
}
