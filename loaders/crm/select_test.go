package crm_test

import (
	"testing"

	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// A parallel task may own no stream: Select picks none, and the sync reads
// nothing yet still creates the raw tables the models read.
func TestSelectNoneSyncsNothingButCreatesTables(t *testing.T) {
	dir := fixtures(t, "leads.csv")
	src, err := crm.NewSource(crm.SourceOptions{Source: crm.SourceFile, File: file.Options{Dir: dir}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wh := memwh.New()
	var offered []string
	c, err := crm.Sync(t.Context(), wh, src, crm.Options{Cursors: memwh.NewCursors(), Select: func(all []string) []string {
		offered = all
		return []string{}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Read != 0 || len(offered) != len(src.Streams()) {
		t.Fatalf("read %d records; Select was offered %v", c.Read, offered)
	}
	if wh.Table(record.LeadsTable) == nil {
		t.Fatal("the raw leads table was not created")
	}
}

func TestSourceOptionsValidateTheChosenSourceOnly(t *testing.T) {
	if err := (crm.SourceOptions{Source: crm.SourceFile, File: file.Options{Dir: "x"}}).Validate(); err != nil {
		t.Fatalf("the hubspot options are not read for the file source: %v", err)
	}
	if err := (crm.SourceOptions{Source: crm.SourceHubSpot}).Validate(); err == nil {
		t.Fatal("hubspot without a token must not validate")
	}
	if err := (crm.SourceOptions{Source: "pipedrive"}).Validate(); err == nil {
		t.Fatal("an unknown source must not validate")
	}
}
