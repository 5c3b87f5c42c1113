// Package bqfake is an in-process fake of the BigQuery v2 REST API, good
// enough for the real cloud.google.com/go/bigquery client: query and load
// jobs (multipart and resumable uploads), job status and query results with
// paging, tables and datasets. It records every request for assertions and
// lets a test decide what queries return and inject faults.
//
// It does not execute SQL. A test installs a QueryHandler that maps a query
// to a result (rows, DML statistics, bytes, or a job error); load jobs do
// store their NDJSON rows in the fake's tables, honouring partition
// decorators and write dispositions, so a test can read back what was
// loaded. It imports only the standard library and the REST types of
// google.golang.org/api; it is test support and never linked into SAM.
//
// Typical use:
//
//	fake := bqfake.Start(t)
//	fake.AddDataset("my-project", "sam", "US")
//	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
//		if strings.HasPrefix(q.SQL, "MERGE") {
//			return bqfake.QueryResult{StatementType: "MERGE", DMLAffectedRows: 3}
//		}
//		res, _ := fake.TableResult("my-project", "sam", "raw_spend__daily")
//		return res
//	})
//	fake.Fail(bqfake.Fault{Op: "jobs.insert", Code: 503}) // next insert fails
//	opts := bigquery.Options{..., ClientOptions: fake.ClientOptions()}
//	...
//	for _, r := range fake.RequestsFor("jobs.insert") { r.Job.Configuration... }
package bqfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"
)

// Query is what a QueryHandler sees of one query job.
type Query struct {
	ProjectID string
	JobID     string
	Location  string
	SQL       string
	DryRun    bool
	Labels    map[string]string
	// Params are the positional query parameters' values, decoded (see
	// params); nil when the query has none.
	Params []any
	// Config is the full decoded query configuration.
	Config *bq.JobConfigurationQuery
}

// QueryResult is what a query job produces.
type QueryResult struct {
	// Schema and Rows are the result set. Rows hold Go values positionally
	// matching Schema: nil, string, int64/int, float64, bool, time.Time,
	// civil.Date-like fmt.Stringers, *big.Rat, []byte, []any for REPEATED
	// fields and []any (positional) or map[string]any for RECORDs. Strings
	// are sent as they are.
	Schema *bq.TableSchema
	Rows   [][]any
	// StatementType is reported in the job statistics (SELECT, INSERT,
	// DELETE, MERGE, SCRIPT, CREATE_TABLE_AS_SELECT, ...). Default SELECT.
	StatementType   string
	DMLAffectedRows int64
	BytesProcessed  int64
	BytesBilled     int64
	// Error, when set, makes the job complete with this errorResult.
	Error *bq.ErrorProto
	// Children become child jobs of a script (listed by jobs.list with
	// parentJobId). Their StatementType and DMLAffectedRows are reported.
	Children []QueryResult
	// PendingPolls reports the job as RUNNING for this many status or
	// getQueryResults calls before it is DONE.
	PendingPolls int
}

// QueryHandler decides what a query returns. It is called once per created
// query job (and once per dry run), never while the fake holds its lock, so
// it may call the Server's methods.
type QueryHandler func(Query) QueryResult

// Fault is an injected failure. Op names the API call it applies to:
// "jobs.insert" (including uploads), "jobs.get", "jobs.getQueryResults",
// "jobs.list", "jobs.query", "tables.get", "tables.insert", "tables.delete",
// "tables.list", "datasets.get", "upload.chunk".
type Fault struct {
	Op string
	// Code is the HTTP status returned with BigQuery's error body.
	Code    int
	Reason  string
	Message string
	// JobError (jobs.insert only, Code 0): the job is created and
	// completes DONE with this errorResult.
	JobError *bq.ErrorProto
	// AfterCreate (jobs.insert only): the job is created as usual and then
	// the error response is returned, as when a response is lost.
	AfterCreate bool
	// Times is how many matching calls fail; 0 means once, negative means
	// every call.
	Times int
	// JobID restricts the fault to one job id (jobs.* calls), or "".
	JobID string
}

// Request is one recorded API call.
type Request struct {
	Op     string
	Method string
	Path   string
	Query  url.Values
	// Job is the decoded job of a jobs.insert (any upload type).
	Job *bq.Job
	// Table is the decoded body of tables.insert.
	Table *bq.Table
	// UploadType is multipart or resumable for uploads.
	UploadType string
	// Upload holds the uploaded bytes once the upload is complete.
	Upload []byte
	// Status is the HTTP status the fake answered.
	Status int
}

// Table is a table held by the fake.
type Table struct {
	Meta *bq.Table
	// Rows are stored as decoded JSON objects keyed by column name (loads
	// store NDJSON lines as they came, numbers as json.Number).
	Rows []map[string]any
}

// Server is the fake. Create it with Start.
type Server struct {
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	handler  QueryHandler
	requests []Request
	faults   []*Fault
	datasets map[string]*bq.Dataset // "project.dataset"
	tables   map[string]*Table      // "project.dataset.table"
	jobs     map[string]*job        // "project/jobID"
	jobOrder []string
	uploads  map[string]*upload
	nextID   int
	// maxPageRows caps a getQueryResults page, as BigQuery's response size
	// limit does; 0 means no cap.
	maxPageRows int
	// lastWrite is the last time a table was written, in milliseconds:
	// each write stamps a later one, so a table written twice within a
	// millisecond still shows it was written again.
	lastWrite uint64
}

type job struct {
	j         *bq.Job
	result    QueryResult
	pending   int
	parentKey string
}

type upload struct {
	project string
	job     *bq.Job
	reqIdx  int
	data    []byte
}

// Start starts a fake on loopback and closes it when tb's test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		datasets: map[string]*bq.Dataset{},
		tables:   map[string]*Table{},
		jobs:     map[string]*job{},
		uploads:  map[string]*upload{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// Endpoint is the REST base path to pass to option.WithEndpoint.
func (s *Server) Endpoint() string { return s.URL + "/bigquery/v2/" }

// ClientOptions returns the options that point a BigQuery client at the fake
// without credentials.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(s.Endpoint()),
		option.WithoutAuthentication(),
		option.WithHTTPClient(s.srv.Client()),
	}
}

// SetQueryHandler installs h; nil restores the default, which answers every
// query with an empty result (statement type SELECT).
func (s *Server) SetQueryHandler(h QueryHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// SetMaxPageRows caps the rows of one getQueryResults page (0: no cap), so
// that clients must follow page tokens.
func (s *Server) SetMaxPageRows(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxPageRows = n
}

// Fail queues a fault. Faults match in the order queued.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// AddDataset creates a dataset.
func (s *Server) AddDataset(project, dataset, location string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.datasets[project+"."+dataset] = &bq.Dataset{
		Id:               project + ":" + dataset,
		Location:         location,
		DatasetReference: &bq.DatasetReference{ProjectId: project, DatasetId: dataset},
	}
}

// PutTable creates or replaces a table. meta needs at least Schema; its
// reference is filled in. Its LastModifiedTime (and CreationTime, when
// unset) is the time of this write.
func (s *Server) PutTable(project, dataset, table string, meta *bq.Table, rows []map[string]any) {
	if meta == nil {
		meta = &bq.Table{}
	}
	m := *meta
	s.mu.Lock()
	defer s.mu.Unlock()
	m.LastModifiedTime = s.writeTime()
	if m.CreationTime == 0 {
		m.CreationTime = int64(m.LastModifiedTime)
	}
	s.put(project, dataset, table, &m, rows)
}

// RestoreTable puts back a table as Table returned it, its times
// included: a rolled-back write leaves no trace.
func (s *Server) RestoreTable(project, dataset, table string, t Table) {
	m := *t.Meta
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(project, dataset, table, &m, t.Rows)
}

func (s *Server) put(project, dataset, table string, m *bq.Table, rows []map[string]any) {
	m.TableReference = &bq.TableReference{ProjectId: project, DatasetId: dataset, TableId: table}
	m.Id = project + ":" + dataset + "." + table
	m.Type = "TABLE"
	s.tables[project+"."+dataset+"."+table] = &Table{Meta: m, Rows: rows}
}

// writeTime stamps a table write (s.mu held). BigQuery keeps a table's
// last write as lastModifiedTime, in milliseconds since the epoch.
func (s *Server) writeTime() uint64 {
	now := uint64(time.Now().UnixMilli())
	if now <= s.lastWrite {
		now = s.lastWrite + 1
	}
	s.lastWrite = now
	return now
}

// Table returns a copy of a table's metadata and rows.
func (s *Server) Table(project, dataset, table string) (Table, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[project+"."+dataset+"."+table]
	if !ok {
		return Table{}, false
	}
	return Table{Meta: t.Meta, Rows: append([]map[string]any(nil), t.Rows...)}, true
}

// TableResult returns a table's rows as a query result (its schema, rows
// in column order), for a QueryHandler that answers a query by reading a
// table the test loaded.
func (s *Server) TableResult(project, dataset, table string) (QueryResult, bool) {
	t, ok := s.Table(project, dataset, table)
	if !ok || t.Meta.Schema == nil {
		return QueryResult{}, false
	}
	res := QueryResult{Schema: t.Meta.Schema, StatementType: "SELECT"}
	for _, r := range t.Rows {
		row := make([]any, len(t.Meta.Schema.Fields))
		for i, f := range t.Meta.Schema.Fields {
			row[i] = r[f.Name]
		}
		res.Rows = append(res.Rows, row)
	}
	return res, true
}

// Requests returns every request recorded so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsFor returns the recorded requests of one operation.
func (s *Server) RequestsFor(op string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// Job returns a created job by id (as the REST API would describe it).
func (s *Server) Job(project, jobID string) (*bq.Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[project+"/"+jobID]
	if !ok {
		return nil, false
	}
	return j.j, true
}

// JobIDs lists created jobs in creation order (child jobs included).
func (s *Server) JobIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.jobOrder))
	for i, k := range s.jobOrder {
		out[i] = k[strings.Index(k, "/")+1:]
	}
	return out
}

// record appends r and returns its index.
func (s *Server) record(r Request) int {
	s.requests = append(s.requests, r)
	return len(s.requests) - 1
}

// takeFault returns the first queued fault matching op and jobID, consuming
// one use of it. Callers hold s.mu.
func (s *Server) takeFault(op, jobID string) *Fault {
	for i, f := range s.faults {
		if f.Op != op || (f.JobID != "" && f.JobID != jobID) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}

// apiError is BigQuery's error body.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Errors  []apiErrorRow `json:"errors"`
	Status  string        `json:"status"`
}

type apiErrorRow struct {
	Domain   string `json:"domain"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
	Location string `json:"location,omitempty"`
}

var statusNames = map[int]string{
	400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS",
	429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

var defaultReasons = map[int]string{
	400: "invalid", 403: "accessDenied", 404: "notFound", 409: "duplicate",
	429: "rateLimitExceeded", 500: "backendError", 502: "backendError", 503: "backendError", 504: "backendError",
}

func writeError(w http.ResponseWriter, code int, reason, msg string) {
	if reason == "" {
		reason = defaultReasons[code]
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	st := statusNames[code]
	if st == "" {
		st = "UNKNOWN"
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(apiError{Error: apiErrorBody{
		Code: code, Message: msg, Status: st,
		Errors: []apiErrorRow{{Domain: "global", Reason: reason, Message: msg}},
	}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

// setStatus records the HTTP status answered to request i.
func (s *Server) setStatus(i, code int) {
	s.mu.Lock()
	s.requests[i].Status = code
	s.mu.Unlock()
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/upload/bigquery/v2/projects/"):
		rest := strings.TrimPrefix(p, "/upload/bigquery/v2/projects/")
		project, tail, _ := strings.Cut(rest, "/")
		if tail != "jobs" || r.Method != http.MethodPost && r.Method != http.MethodPut {
			writeError(w, 404, "notFound", "no such upload path "+p)
			return
		}
		s.serveUpload(w, r, project)
	case strings.HasPrefix(p, "/bigquery/v2/projects/"):
		parts := strings.Split(strings.TrimPrefix(p, "/bigquery/v2/projects/"), "/")
		s.serveAPI(w, r, parts)
	default:
		writeError(w, 404, "notFound", "no such path "+p)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, parts []string) {
	project := parts[0]
	n := len(parts)
	switch {
	case n == 2 && parts[1] == "jobs" && r.Method == http.MethodPost:
		var j bq.Job
		if err := json.NewDecoder(r.Body).Decode(&j); err != nil {
			writeError(w, 400, "invalid", "bad job JSON: "+err.Error())
			return
		}
		s.insertJob(w, r, project, &j, nil, "")
	case n == 2 && parts[1] == "jobs" && r.Method == http.MethodGet:
		s.listJobs(w, r, project)
	case n == 3 && parts[1] == "jobs" && r.Method == http.MethodGet:
		s.getJob(w, r, project, parts[2])
	case n == 4 && parts[1] == "jobs" && parts[3] == "cancel" && r.Method == http.MethodPost:
		s.cancelJob(w, r, project, parts[2])
	case n == 2 && parts[1] == "queries" && r.Method == http.MethodPost:
		s.queryFast(w, r, project)
	case n == 3 && parts[1] == "queries" && r.Method == http.MethodGet:
		s.getQueryResults(w, r, project, parts[2])
	case n == 3 && parts[1] == "datasets" && r.Method == http.MethodGet:
		s.getDataset(w, r, project, parts[2])
	case n == 4 && parts[1] == "datasets" && parts[3] == "tables":
		switch r.Method {
		case http.MethodGet:
			s.listTables(w, r, project, parts[2])
		case http.MethodPost:
			s.insertTable(w, r, project, parts[2])
		default:
			writeError(w, 405, "invalid", "method not allowed")
		}
	case n == 5 && parts[1] == "datasets" && parts[3] == "tables":
		switch r.Method {
		case http.MethodGet:
			s.getTable(w, r, project, parts[2], parts[4])
		case http.MethodDelete:
			s.deleteTable(w, r, project, parts[2], parts[4])
		default:
			writeError(w, 405, "invalid", "method not allowed")
		}
	default:
		writeError(w, 404, "notFound", "no such API path "+r.URL.Path)
	}
}

// simple records a request and applies a fault; it reports whether the
// caller should go on.
func (s *Server) simple(w http.ResponseWriter, r *http.Request, op, jobID string) (int, bool) {
	s.mu.Lock()
	i := s.record(Request{Op: op, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Status: 200})
	f := s.takeFault(op, jobID)
	if f != nil && f.Code != 0 {
		s.requests[i].Status = f.Code
	}
	s.mu.Unlock()
	if f != nil && f.Code != 0 {
		writeError(w, f.Code, f.Reason, f.Message)
		return i, false
	}
	return i, true
}

func (s *Server) getDataset(w http.ResponseWriter, r *http.Request, project, dataset string) {
	i, ok := s.simple(w, r, "datasets.get", "")
	if !ok {
		return
	}
	s.mu.Lock()
	d, found := s.datasets[project+"."+dataset]
	s.mu.Unlock()
	if !found {
		s.setStatus(i, 404)
		writeError(w, 404, "notFound", fmt.Sprintf("Not found: Dataset %s:%s", project, dataset))
		return
	}
	writeJSON(w, d)
}

func (s *Server) getTable(w http.ResponseWriter, r *http.Request, project, dataset, table string) {
	i, ok := s.simple(w, r, "tables.get", "")
	if !ok {
		return
	}
	s.mu.Lock()
	t, found := s.tables[project+"."+dataset+"."+table]
	var meta bq.Table
	if found {
		meta = *t.Meta
		meta.NumRows = uint64(len(t.Rows))
	}
	s.mu.Unlock()
	if !found {
		s.setStatus(i, 404)
		writeError(w, 404, "notFound", fmt.Sprintf("Not found: Table %s:%s.%s", project, dataset, table))
		return
	}
	writeJSON(w, &meta)
}

func (s *Server) insertTable(w http.ResponseWriter, r *http.Request, project, dataset string) {
	var t bq.Table
	if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
		writeError(w, 400, "invalid", "bad table JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	i := s.record(Request{Op: "tables.insert", Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Table: &t, Status: 200})
	f := s.takeFault("tables.insert", "")
	if f != nil && f.Code != 0 {
		s.requests[i].Status = f.Code
		s.mu.Unlock()
		writeError(w, f.Code, f.Reason, f.Message)
		return
	}
	if t.TableReference == nil || t.TableReference.TableId == "" {
		s.requests[i].Status = 400
		s.mu.Unlock()
		writeError(w, 400, "invalid", "tableReference.tableId is required")
		return
	}
	if _, ok := s.datasets[project+"."+dataset]; !ok {
		s.requests[i].Status = 404
		s.mu.Unlock()
		writeError(w, 404, "notFound", fmt.Sprintf("Not found: Dataset %s:%s", project, dataset))
		return
	}
	key := project + "." + dataset + "." + t.TableReference.TableId
	if _, ok := s.tables[key]; ok {
		s.requests[i].Status = 409
		s.mu.Unlock()
		writeError(w, 409, "duplicate", fmt.Sprintf("Already Exists: Table %s:%s.%s", project, dataset, t.TableReference.TableId))
		return
	}
	t.TableReference.ProjectId, t.TableReference.DatasetId = project, dataset
	t.Id = project + ":" + dataset + "." + t.TableReference.TableId
	t.Type = "TABLE"
	t.LastModifiedTime = s.writeTime()
	t.CreationTime = int64(t.LastModifiedTime)
	s.tables[key] = &Table{Meta: &t}
	s.mu.Unlock()
	writeJSON(w, &t)
}

func (s *Server) deleteTable(w http.ResponseWriter, r *http.Request, project, dataset, table string) {
	i, ok := s.simple(w, r, "tables.delete", "")
	if !ok {
		return
	}
	s.mu.Lock()
	key := project + "." + dataset + "." + table
	_, found := s.tables[key]
	delete(s.tables, key)
	s.mu.Unlock()
	if !found {
		s.setStatus(i, 404)
		writeError(w, 404, "notFound", fmt.Sprintf("Not found: Table %s:%s.%s", project, dataset, table))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTables(w http.ResponseWriter, r *http.Request, project, dataset string) {
	if _, ok := s.simple(w, r, "tables.list", ""); !ok {
		return
	}
	s.mu.Lock()
	prefix := project + "." + dataset + "."
	var names []string
	for k := range s.tables {
		if strings.HasPrefix(k, prefix) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	list := &bq.TableList{Kind: "bigquery#tableList"}
	for _, k := range names {
		t := s.tables[k].Meta
		list.Tables = append(list.Tables, &bq.TableListTables{
			Id: t.Id, Kind: "bigquery#table", TableReference: t.TableReference, Type: "TABLE",
		})
	}
	list.TotalItems = int64(len(list.Tables))
	s.mu.Unlock()
	writeJSON(w, list)
}

// DeleteTable removes a table, as tables.delete does, and reports whether
// it existed. It lets a QueryHandler that executes DDL drop tables.
func (s *Server) DeleteTable(project, dataset, table string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := project + "." + dataset + "." + table
	_, ok := s.tables[key]
	delete(s.tables, key)
	return ok
}

// TableIDs lists the tables of a dataset by id, sorted.
func (s *Server) TableIDs(project, dataset string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := project + "." + dataset + "."
	var out []string
	for k := range s.tables {
		if id, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
