package jobs

import (
	"os"
	"path/filepath"
	"testing"
)

// A misspelt SAM_FX_RATES_FILE was taken for no rates: the run succeeded,
// the rates loaded before were replaced by none, and spend in other
// currencies lost its conversion. A missing spend folder already stopped
// SAM before any work; a missing or unreadable rates file now does too.
func TestAMissingRatesFileStopsSAMBeforeAnyWork(t *testing.T) {
	dir := t.TempDir()
	for name, path := range map[string]string{
		"misspelt":  filepath.Join(dir, "fx_rate.csv"),
		"directory": dir,
	} {
		t.Run(name, func(t *testing.T) {
			cfg := defaults(t)
			cfg.Spend.SpendDir, cfg.Spend.FXRatesFile = dir, path
			s, err := Configure(cfg, Task{})
			if err != nil {
				t.Fatal(err)
			}
			refusedNaming(t, s.CheckInputs([]string{StageLoadSpend}), true, "SAM_FX_RATES_FILE")
		})
	}
	cfg := defaults(t)
	rates := filepath.Join(dir, "fx_rates.csv")
	if err := os.WriteFile(rates, []byte("date,from_currency,to_currency,rate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Spend.SpendDir, cfg.Spend.FXRatesFile = dir, rates
	s, err := Configure(cfg, Task{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckInputs([]string{StageLoadSpend}); err != nil {
		t.Errorf("a rates file with its header alone was refused: %v", err)
	}
}
