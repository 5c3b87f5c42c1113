package file_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// read loads one stream from a directory holding only name with content
// data, and returns every batch's records and rejects. fileRejected is
// whether the source rejected the file as a whole (its header), the one
// batch that moves no cursor.
func read(t *testing.T, stream, name string, data []byte) (all record.Batch, fileRejected bool, err error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := file.New(file.Options{Dir: dir, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	err = src.Read(context.Background(), stream, "", func(_ context.Context, b *record.Batch) error {
		all.Leads = append(all.Leads, b.Leads...)
		all.Deals = append(all.Deals, b.Deals...)
		all.Rejects = append(all.Rejects, b.Rejects...)
		if b.Cursor == "" {
			if b.Len() != 1 || len(b.Rejects) != 1 {
				t.Fatalf("a batch without a cursor that is not one file's reject: %+v", b)
			}
			fileRejected = true
		}
		return nil
	})
	return all, fileRejected, err
}

// rows bounds the data rows a reader must account for: non-blank lines of
// an NDJSON file; for CSV, the records after the header as encoding/csv
// reads them when the file has no quote, else at least one and at most one
// per non-blank line (a quoted field may span lines; a stray quote rejects
// its line alone).
func rows(ndjson bool, data []byte) (lo, hi int, readable bool) {
	if ndjson {
		n := 0
		for _, line := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(line) != "" {
				n++
			}
		}
		return n, n, true
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	if _, err := r.Read(); err != nil {
		return 0, 0, false // no header: the load stops
	}
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return n, n, false
		}
		n++
	}
	if !bytes.Contains(data, []byte(`"`)) {
		return n, n, true
	}
	lines := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSuffix(line, "\r") != "" {
			lines++
		}
	}
	return min(n, 1), lines - 1, true
}

// FuzzRead feeds arbitrary leads and deals files, CSV and NDJSON, to the
// file source. The source either rejects the file as a whole (a header it
// cannot use, such as one without the id column, or lines that end with a
// bare carriage return) or accounts for every row: loaded, or rejected
// with a reason and its raw text.
//
//	go test ./loaders/crm/file -run '^$' -fuzz '^FuzzRead$' -fuzztime 20s
func FuzzRead(f *testing.F) {
	for _, name := range []string{"leads.csv", "deals.csv", "leads.ndjson"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, strings.HasPrefix(name, "deals"), strings.HasSuffix(name, ".ndjson"))
	}
	f.Add([]byte("lead_id,created_at\nL1,2024-03-01T10:00:00Z\n\"L2,2024\n"), false, false)
	f.Add([]byte("deal_id,amount,currency,is_won\nD1,12500.50,eur,true\nD2,1e3,EURO,maybe\nD3\n"), true, false)
	f.Add([]byte("{\"deal_id\":\"D1\",\"amount\":12.5,\"is_won\":true}\n[1]\n{\"deal_id\":{\"x\":1}}\n\n{"), true, true)
	f.Add([]byte("email,phone\na@b.c,1\n"), false, false)
	f.Fuzz(func(t *testing.T, data []byte, deals, ndjson bool) {
		stream, ext := "leads", ".csv"
		if deals {
			stream = "deals"
		}
		if ndjson {
			ext = ".ndjson"
		}
		b, fileRejected, err := read(t, stream, stream+ext, data)
		lo, hi, readable := rows(ndjson, data)
		if err != nil {
			t.Fatalf("the load stopped: %v\n%q", err, data)
		}
		if fileRejected {
			if len(b.Leads)+len(b.Deals) != 0 || !strings.HasSuffix(b.Rejects[0].Reason, "; nothing of the file was loaded") || b.Rejects[0].Object != stream+ext || b.Rejects[0].Raw == "" {
				t.Fatalf("a file reject with rows or without its reason: %+v\n%q", b, data)
			}
			return
		}
		if !readable {
			t.Fatalf("an unreadable file loaded: %q", data)
		}
		got := len(b.Leads) + len(b.Deals) + len(b.Rejects)
		if got < lo || got > hi {
			t.Fatalf("%d to %d rows in, %d out (%d leads, %d deals, %d rejects):\n%q", lo, hi, got, len(b.Leads), len(b.Deals), len(b.Rejects), data)
		}
		for _, r := range b.Rejects {
			if r.Reason == "" || r.Raw == "" || r.Object != stream+ext {
				t.Fatalf("reject without reason, raw text or file: %+v", r)
			}
		}
		for _, l := range b.Leads {
			if l.ID == "" || l.ID != strings.TrimSpace(l.ID) {
				t.Fatalf("lead loaded with id %q", l.ID)
			}
			if l.LifecycleStage != "" && !record.ValidStage(l.LifecycleStage) {
				t.Fatalf("lead loaded with stage %q", l.LifecycleStage)
			}
		}
		for _, d := range b.Deals {
			if d.ID == "" {
				t.Fatal("deal loaded without id")
			}
			if d.Currency != "" && !record.ValidCurrency(d.Currency) {
				t.Fatalf("deal loaded with currency %q", d.Currency)
			}
			if _, err := record.ParseAmount(d.Amount); err != nil {
				t.Fatalf("deal loaded with amount %q: %v", d.Amount, err)
			}
		}
	})
}

// FuzzLeadRoundTrip writes one lead as a CSV row and as an NDJSON line and
// loads both: the two formats must agree, an accepted lead carries exactly
// the values written (trimmed), and a rejected one says why.
//
//	go test ./loaders/crm/file -run '^$' -fuzz '^FuzzLeadRoundTrip$' -fuzztime 20s
func FuzzLeadRoundTrip(f *testing.F) {
	f.Add("L1", "2024-03-01T10:00:00Z", "Ann@Example.com", "+44 20 7946 0958", "GA1.1.123.456", "MQL", "2024-03-02T10:00:00Z", "false")
	f.Add(" L2 ", "1709287200000", "", "", "123.456", "", "", "TRUE")
	f.Add("L3", "yesterday", "x", "y", "z", "lead", "", "")
	f.Add("", "2024-03-01T10:00:00Z", "", "", "", "lead", "", "")
	f.Add("L4", "2024-03-01T10:00:00+02:00", "", "", "", "prospect", "", "1")
	f.Add("L5", "", "", "", "", "", "", "maybe")
	f.Fuzz(func(t *testing.T, id, created, email, phone, client, stage, mql, deleted string) {
		in := []string{id, created, email, phone, client, stage, mql, deleted}
		for _, s := range in {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\x00") {
				return // encoding/csv rewrites \r\n; JSON rewrites invalid UTF-8
			}
		}
		cols := []string{"lead_id", "created_at", "email", "phone", "ga_client_id", "lifecycle_stage", "mql_at", "is_deleted"}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(cols)
		w.Write(in)
		w.Flush()
		obj := map[string]string{}
		for i, c := range cols {
			obj[c] = in[i]
		}
		line, _ := json.Marshal(obj)

		fromCSV, csvRejected, errCSV := read(t, "leads", "leads.csv", buf.Bytes())
		fromJSON, _, errJSON := read(t, "leads", "leads.ndjson", append(line, '\n'))
		if errCSV != nil || errJSON != nil || csvRejected {
			t.Fatalf("load stopped or rejected the file: csv %v (file rejected %v), ndjson %v", errCSV, csvRejected, errJSON)
		}
		if len(fromCSV.Leads)+len(fromCSV.Rejects) != 1 || len(fromJSON.Leads)+len(fromJSON.Rejects) != 1 {
			t.Fatalf("one row in; csv gave %d leads %d rejects, ndjson %d leads %d rejects",
				len(fromCSV.Leads), len(fromCSV.Rejects), len(fromJSON.Leads), len(fromJSON.Rejects))
		}
		if len(fromCSV.Leads) != len(fromJSON.Leads) {
			t.Fatalf("formats disagree: csv %+v, ndjson %+v", fromCSV, fromJSON)
		}
		if len(fromCSV.Rejects) == 1 {
			if fromCSV.Rejects[0].Reason != fromJSON.Rejects[0].Reason {
				t.Fatalf("formats reject for different reasons: %q vs %q", fromCSV.Rejects[0].Reason, fromJSON.Rejects[0].Reason)
			}
			if fromCSV.Rejects[0].Reason == "" {
				t.Fatal("reject without reason")
			}
			return
		}
		l, lj := fromCSV.Leads[0], fromJSON.Leads[0]
		if l.ID != lj.ID || !l.CreatedAt.Equal(lj.CreatedAt) || l.Email != lj.Email || l.Phone != lj.Phone ||
			l.GAClientID != lj.GAClientID || l.LifecycleStage != lj.LifecycleStage || !l.MQLAt.Equal(lj.MQLAt) || l.IsDeleted != lj.IsDeleted {
			t.Fatalf("formats load different leads:\ncsv    %+v\nndjson %+v", l, lj)
		}
		trim := strings.TrimSpace
		if l.ID != trim(id) || l.Email != trim(email) || l.Phone != trim(phone) || l.GAClientID != trim(client) ||
			l.LifecycleStage != strings.ToLower(trim(stage)) {
			t.Fatalf("loaded %+v from %q", l, in)
		}
		for _, c := range []struct {
			got  time.Time
			text string
		}{{l.CreatedAt, created}, {l.MQLAt, mql}} {
			want, err := record.ParseTime(c.text)
			if err != nil || !c.got.Equal(want) || c.got.Location() != time.UTC {
				t.Fatalf("timestamp %v from %q (%v)", c.got, c.text, err)
			}
		}
		if want, _ := record.ParseBool(deleted); l.IsDeleted != want {
			t.Fatalf("is_deleted %v from %q", l.IsDeleted, deleted)
		}
	})
}
