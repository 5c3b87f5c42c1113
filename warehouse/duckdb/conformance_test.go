package duckdb

import (
	"path/filepath"
	"testing"

	"github.com/sam-attribution/sam/warehouse/warehousetest"
)

func TestConformanceInMemory(t *testing.T) {
	warehousetest.Run(t, openMem(t))
}

func TestConformanceFile(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	warehousetest.Run(t, db)
}
