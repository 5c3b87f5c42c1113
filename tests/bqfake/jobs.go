package bqfake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

// serveUpload handles media uploads: multipart in one request, or a
// resumable session (start, then chunks posted to the session URI).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, project string) {
	q := r.URL.Query()
	if id := q.Get("upload_id"); id != "" {
		s.uploadChunk(w, r, id)
		return
	}
	switch q.Get("uploadType") {
	case "multipart":
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || !strings.HasPrefix(mt, "multipart/") {
			writeError(w, 400, "invalid", "multipart upload needs a multipart content type")
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		meta, err := mr.NextPart()
		if err != nil {
			writeError(w, 400, "invalid", "multipart upload: no metadata part")
			return
		}
		var j bq.Job
		if err := json.NewDecoder(meta).Decode(&j); err != nil {
			writeError(w, 400, "invalid", "multipart upload: bad job JSON: "+err.Error())
			return
		}
		media, err := mr.NextPart()
		if err != nil {
			writeError(w, 400, "invalid", "multipart upload: no media part")
			return
		}
		data, err := io.ReadAll(media)
		if err != nil {
			writeError(w, 400, "invalid", "multipart upload: "+err.Error())
			return
		}
		s.insertJob(w, r, project, &j, data, "multipart")
	case "resumable":
		var j bq.Job
		if err := json.NewDecoder(r.Body).Decode(&j); err != nil {
			writeError(w, 400, "invalid", "bad job JSON: "+err.Error())
			return
		}
		s.mu.Lock()
		i := s.record(Request{Op: "jobs.insert", Method: r.Method, Path: r.URL.Path, Query: q, Job: &j, UploadType: "resumable", Status: 200})
		if f := s.takeFault("jobs.insert", jobIDOf(&j)); f != nil && f.Code != 0 {
			s.requests[i].Status = f.Code
			s.mu.Unlock()
			writeError(w, f.Code, f.Reason, f.Message)
			return
		}
		s.nextID++
		id := strconv.Itoa(s.nextID)
		s.uploads[id] = &upload{project: project, job: &j, reqIdx: i}
		s.mu.Unlock()
		w.Header().Set("Location", fmt.Sprintf("%s/upload/bigquery/v2/projects/%s/jobs?uploadType=resumable&upload_id=%s", s.URL, project, id))
		w.WriteHeader(http.StatusOK)
	default:
		writeError(w, 400, "invalid", "unsupported uploadType "+q.Get("uploadType"))
	}
}

var contentRangeRE = regexp.MustCompile(`^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$`)

func (s *Server) uploadChunk(w http.ResponseWriter, r *http.Request, id string) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	s.mu.Lock()
	i := s.record(Request{Op: "upload.chunk", Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Status: 200})
	up, ok := s.uploads[id]
	if !ok {
		s.requests[i].Status = 404
		s.mu.Unlock()
		writeError(w, 404, "notFound", "no such upload session")
		return
	}
	if f := s.takeFault("upload.chunk", jobIDOf(up.job)); f != nil && f.Code != 0 {
		s.requests[i].Status = f.Code
		s.mu.Unlock()
		writeError(w, f.Code, f.Reason, f.Message)
		return
	}
	m := contentRangeRE.FindStringSubmatch(r.Header.Get("Content-Range"))
	if m == nil {
		s.requests[i].Status = 400
		s.mu.Unlock()
		writeError(w, 400, "invalid", "bad Content-Range "+r.Header.Get("Content-Range"))
		return
	}
	if m[1] != "" {
		off, _ := strconv.Atoi(m[1])
		switch {
		case off == len(up.data):
			up.data = append(up.data, data...)
		case off+len(data) <= len(up.data):
			// A retried chunk the fake already has.
		default:
			s.requests[i].Status = 400
			s.mu.Unlock()
			writeError(w, 400, "invalid", fmt.Sprintf("chunk at %d but %d bytes received", off, len(up.data)))
			return
		}
	}
	if m[3] == "*" {
		s.mu.Unlock()
		if len(up.data) > 0 {
			w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", len(up.data)-1))
		}
		w.Header().Set("X-Http-Status-Code-Override", "308")
		w.WriteHeader(http.StatusOK)
		return
	}
	total, _ := strconv.Atoi(m[3])
	if total != len(up.data) {
		s.mu.Unlock()
		writeError(w, 400, "invalid", fmt.Sprintf("upload declares %d bytes, received %d", total, len(up.data)))
		return
	}
	delete(s.uploads, id)
	s.requests[up.reqIdx].Upload = up.data
	s.mu.Unlock()
	s.createAndRespond(w, up.project, up.job, up.data, up.reqIdx, nil)
}

func jobIDOf(j *bq.Job) string {
	if j.JobReference == nil {
		return ""
	}
	return j.JobReference.JobId
}

// insertJob records a jobs.insert, applies faults and creates the job.
func (s *Server) insertJob(w http.ResponseWriter, r *http.Request, project string, j *bq.Job, media []byte, uploadType string) {
	s.mu.Lock()
	i := s.record(Request{Op: "jobs.insert", Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Job: j, UploadType: uploadType, Upload: media, Status: 200})
	f := s.takeFault("jobs.insert", jobIDOf(j))
	s.mu.Unlock()
	if f != nil && f.Code != 0 && !f.AfterCreate {
		s.setStatus(i, f.Code)
		writeError(w, f.Code, f.Reason, f.Message)
		return
	}
	s.createAndRespond(w, project, j, media, i, f)
}

func (s *Server) createAndRespond(w http.ResponseWriter, project string, j *bq.Job, media []byte, reqIdx int, f *Fault) {
	created, code, reason, msg := s.createJob(project, j, media, f)
	if code != 0 {
		s.setStatus(reqIdx, code)
		writeError(w, code, reason, msg)
		return
	}
	if f != nil && f.AfterCreate && f.Code != 0 {
		s.setStatus(reqIdx, f.Code)
		writeError(w, f.Code, f.Reason, f.Message)
		return
	}
	writeJSON(w, created)
}

// createJob runs a job to completion (the fake has no queue) and returns it
// as jobs.insert answers, or an HTTP error.
func (s *Server) createJob(project string, in *bq.Job, media []byte, f *Fault) (*bq.Job, int, string, string) {
	if in.Configuration == nil || in.Configuration.Query == nil && in.Configuration.Load == nil {
		return nil, 400, "invalid", "the fake runs query and load jobs only; configuration.query or .load is required"
	}
	ref := &bq.JobReference{ProjectId: project}
	if in.JobReference != nil {
		ref.JobId, ref.Location = in.JobReference.JobId, in.JobReference.Location
	}
	if ref.Location == "" {
		ref.Location = "US"
	}
	// BigQuery rejects malformed parameters before it creates the job.
	ps, err := params(in.Configuration.Query)
	if err != nil {
		return nil, 400, "invalidQuery", err.Error()
	}
	s.mu.Lock()
	if ref.JobId == "" {
		s.nextID++
		ref.JobId = fmt.Sprintf("job_fake_%d", s.nextID)
	}
	key := project + "/" + ref.JobId
	cfg := in.Configuration
	dry := cfg.DryRun
	if !dry {
		// Reserve the id first, so that concurrent inserts of one id run
		// the job once, as BigQuery does.
		if _, exists := s.jobs[key]; exists {
			s.mu.Unlock()
			return nil, 409, "duplicate", fmt.Sprintf("Already Exists: Job %s:%s.%s", project, ref.Location, ref.JobId)
		}
		s.jobs[key] = &job{j: &bq.Job{Kind: "bigquery#job", JobReference: ref, Configuration: cfg, Status: &bq.JobStatus{State: "RUNNING"}}}
		s.jobOrder = append(s.jobOrder, key)
	}
	s.mu.Unlock()
	out := &bq.Job{
		Kind: "bigquery#job", Id: project + ":" + ref.Location + "." + ref.JobId,
		JobReference: ref, Configuration: cfg,
		Status:     &bq.JobStatus{State: "DONE"},
		Statistics: &bq.JobStatistics{CreationTime: time.Now().UnixMilli(), StartTime: time.Now().UnixMilli()},
	}
	var res QueryResult
	switch {
	case cfg.Query != nil:
		s.mu.Lock()
		h := s.handler
		s.mu.Unlock()
		if h != nil {
			res = h(Query{ProjectID: project, JobID: ref.JobId, Location: ref.Location, SQL: cfg.Query.Query,
				DryRun: dry, Labels: cfg.Labels, Params: ps, Config: cfg.Query})
		}
		if res.StatementType == "" {
			res.StatementType = "SELECT"
		}
		if dry {
			out.Statistics.TotalBytesProcessed = res.BytesProcessed
			out.Statistics.Query = &bq.JobStatistics2{TotalBytesProcessed: res.BytesProcessed, StatementType: res.StatementType}
			if res.Error != nil {
				// A dry run reports query errors as the HTTP answer.
				return nil, 400, res.Error.Reason, res.Error.Message
			}
			return out, 0, "", ""
		}
		setQueryStats(out, res)
	case cfg.Load != nil:
		n, bytes, err := s.runLoad(project, cfg.Load, media)
		out.Statistics.Load = &bq.JobStatistics3{OutputRows: n, InputFileBytes: int64(len(media)), OutputBytes: bytes, InputFiles: 1}
		if err != nil {
			res.Error = err
		}
	}
	if f != nil && f.JobError != nil {
		res.Error = f.JobError
	}
	if res.Error != nil {
		out.Status.ErrorResult = res.Error
		out.Status.Errors = []*bq.ErrorProto{res.Error}
	}
	out.Statistics.EndTime = time.Now().UnixMilli()
	st := &job{j: out, result: res, pending: res.PendingPolls}
	if st.pending > 0 {
		out.Status = &bq.JobStatus{State: "RUNNING"}
	}
	s.mu.Lock()
	s.jobs[key] = st
	for ci, c := range res.Children {
		cj := &bq.Job{
			Kind: "bigquery#job", Id: fmt.Sprintf("%s:%s.script_job_%s_%d", project, ref.Location, ref.JobId, ci),
			JobReference:  &bq.JobReference{ProjectId: project, JobId: fmt.Sprintf("script_job_%s_%d", ref.JobId, ci), Location: ref.Location},
			Configuration: &bq.JobConfiguration{Query: &bq.JobConfigurationQuery{Query: cfg.Query.Query}},
			Status:        &bq.JobStatus{State: "DONE", ErrorResult: c.Error},
			Statistics:    &bq.JobStatistics{ParentJobId: ref.JobId},
		}
		if c.StatementType == "" {
			c.StatementType = "SELECT"
		}
		setQueryStats(cj, c)
		ck := project + "/" + cj.JobReference.JobId
		s.jobs[ck] = &job{j: cj, result: c, parentKey: key}
		s.jobOrder = append(s.jobOrder, ck)
	}
	cp := *out
	s.mu.Unlock()
	return &cp, 0, "", ""
}

func setQueryStats(j *bq.Job, res QueryResult) {
	j.Statistics.TotalBytesProcessed = res.BytesProcessed
	q := &bq.JobStatistics2{
		StatementType:       res.StatementType,
		TotalBytesProcessed: res.BytesProcessed,
		TotalBytesBilled:    res.BytesBilled,
		NumDmlAffectedRows:  res.DMLAffectedRows,
		Schema:              res.Schema,
	}
	if res.DMLAffectedRows != 0 {
		q.DmlStats = &bq.DmlStatistics{}
		switch res.StatementType {
		case "DELETE":
			q.DmlStats.DeletedRowCount = res.DMLAffectedRows
		case "UPDATE":
			q.DmlStats.UpdatedRowCount = res.DMLAffectedRows
		default:
			q.DmlStats.InsertedRowCount = res.DMLAffectedRows
		}
	}
	j.Statistics.Query = q
}

// lookup finds a job and advances its pending state by one poll.
func (s *Server) lookup(project, jobID string) (*job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[project+"/"+jobID]
	if !ok {
		return nil, false
	}
	if j.pending > 0 {
		j.pending--
		if j.pending == 0 {
			j.j.Status = &bq.JobStatus{State: "DONE", ErrorResult: j.result.Error}
			if j.result.Error != nil {
				j.j.Status.Errors = []*bq.ErrorProto{j.result.Error}
			}
		}
	}
	return j, true
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, project, jobID string) {
	i, ok := s.simple(w, r, "jobs.get", jobID)
	if !ok {
		return
	}
	j, found := s.lookup(project, jobID)
	if !found {
		s.setStatus(i, 404)
		writeError(w, 404, "notFound", fmt.Sprintf("Not found: Job %s:%s", project, jobID))
		return
	}
	s.mu.Lock()
	out := *j.j
	s.mu.Unlock()
	writeJSON(w, &out)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, project, jobID string) {
	i, ok := s.simple(w, r, "jobs.cancel", jobID)
	if !ok {
		return
	}
	s.mu.Lock()
	j, found := s.jobs[project+"/"+jobID]
	var out bq.Job
	if found {
		if j.j.Status.State != "DONE" {
			j.pending = 0
			j.result.Error = &bq.ErrorProto{Reason: "stopped", Message: "Job execution was cancelled: User requested cancellation"}
			j.j.Status = &bq.JobStatus{State: "DONE", ErrorResult: j.result.Error, Errors: []*bq.ErrorProto{j.result.Error}}
		}
		out = *j.j
	}
	s.mu.Unlock()
	if !found {
		s.setStatus(i, 404)
		writeError(w, 404, "notFound", fmt.Sprintf("Not found: Job %s:%s", project, jobID))
		return
	}
	writeJSON(w, &bq.JobCancelResponse{Job: &out, Kind: "bigquery#jobCancelResponse"})
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, project string) {
	if _, ok := s.simple(w, r, "jobs.list", ""); !ok {
		return
	}
	parent := r.URL.Query().Get("parentJobId")
	s.mu.Lock()
	list := &bq.JobList{Kind: "bigquery#jobList"}
	for _, k := range s.jobOrder {
		j := s.jobs[k]
		if !strings.HasPrefix(k, project+"/") {
			continue
		}
		if parent != "" && j.parentKey != project+"/"+parent {
			continue
		}
		list.Jobs = append(list.Jobs, &bq.JobListJobs{
			Id: j.j.Id, JobReference: j.j.JobReference, Configuration: j.j.Configuration,
			Status: j.j.Status, Statistics: j.j.Statistics, State: j.j.Status.State, ErrorResult: j.j.Status.ErrorResult,
		})
	}
	s.mu.Unlock()
	writeJSON(w, list)
}

// getQueryResults answers jobs.getQueryResults: not complete while the job
// is pending; the job's error as the HTTP answer when it failed (as
// BigQuery does); otherwise one page of rows.
func (s *Server) getQueryResults(w http.ResponseWriter, r *http.Request, project, jobID string) {
	i, ok := s.simple(w, r, "jobs.getQueryResults", jobID)
	if !ok {
		return
	}
	j, found := s.lookup(project, jobID)
	if !found {
		s.setStatus(i, 404)
		writeError(w, 404, "notFound", fmt.Sprintf("Not found: Job %s:%s", project, jobID))
		return
	}
	s.mu.Lock()
	ref, done, res := j.j.JobReference, j.j.Status.State == "DONE", j.result
	s.mu.Unlock()
	if !done {
		writeJSON(w, &bq.GetQueryResultsResponse{Kind: "bigquery#getQueryResultsResponse", JobReference: ref, JobComplete: false})
		return
	}
	if res.Error != nil {
		s.setStatus(i, 400)
		writeError(w, 400, res.Error.Reason, res.Error.Message)
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	if s.maxPageRows > 0 {
		if m, _ := strconv.Atoi(q.Get("maxResults")); q.Get("maxResults") == "" || m > s.maxPageRows {
			q.Set("maxResults", strconv.Itoa(s.maxPageRows))
		}
	}
	s.mu.Unlock()
	resp, err := resultPage(res, q)
	if err != nil {
		s.setStatus(i, 400)
		writeError(w, 400, "invalid", err.Error())
		return
	}
	resp.Kind = "bigquery#getQueryResultsResponse"
	resp.JobReference = ref
	writeJSON(w, resp)
}

// resultPage cuts one page out of a result: startIndex or pageToken give
// the offset, maxResults the size (absent: all rows).
func resultPage(res QueryResult, q map[string][]string) (*bq.GetQueryResultsResponse, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	off := 0
	if t := get("pageToken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return nil, fmt.Errorf("bad pageToken %q", t)
		}
		off = n
	} else if si := get("startIndex"); si != "" {
		n, _ := strconv.Atoi(si)
		off = n
	}
	size := len(res.Rows)
	if m := get("maxResults"); m != "" {
		n, _ := strconv.Atoi(m)
		size = n
	}
	int64ts := get("formatOptions.useInt64Timestamp") == "true"
	end := min(off+size, len(res.Rows))
	off = min(off, len(res.Rows))
	resp := &bq.GetQueryResultsResponse{
		JobComplete:         true,
		Schema:              res.Schema,
		TotalRows:           uint64(len(res.Rows)),
		NumDmlAffectedRows:  res.DMLAffectedRows,
		TotalBytesProcessed: res.BytesProcessed,
	}
	if res.Schema == nil {
		resp.Schema = &bq.TableSchema{}
	}
	for _, row := range res.Rows[off:end] {
		tr, err := encodeRow(res.Schema.Fields, row, int64ts)
		if err != nil {
			return nil, err
		}
		resp.Rows = append(resp.Rows, tr)
	}
	if end < len(res.Rows) {
		resp.PageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// queryFast answers jobs.query (the library's stateless path) by creating a
// job and returning its first page.
func (s *Server) queryFast(w http.ResponseWriter, r *http.Request, project string) {
	var qr bq.QueryRequest
	if err := json.NewDecoder(r.Body).Decode(&qr); err != nil {
		writeError(w, 400, "invalid", "bad query request JSON: "+err.Error())
		return
	}
	j := &bq.Job{
		JobReference: &bq.JobReference{ProjectId: project, Location: qr.Location},
		Configuration: &bq.JobConfiguration{
			Labels: qr.Labels, DryRun: qr.DryRun,
			Query: &bq.JobConfigurationQuery{Query: qr.Query, UseLegacySql: qr.UseLegacySql, MaximumBytesBilled: qr.MaximumBytesBilled, DefaultDataset: qr.DefaultDataset,
				QueryParameters: qr.QueryParameters, ParameterMode: qr.ParameterMode},
		},
	}
	s.mu.Lock()
	i := s.record(Request{Op: "jobs.query", Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Job: j, Status: 200})
	f := s.takeFault("jobs.query", "")
	s.mu.Unlock()
	if f != nil && f.Code != 0 {
		s.setStatus(i, f.Code)
		writeError(w, f.Code, f.Reason, f.Message)
		return
	}
	created, code, reason, msg := s.createJob(project, j, nil, nil)
	if code != 0 {
		s.setStatus(i, code)
		writeError(w, code, reason, msg)
		return
	}
	st, _ := s.lookup(project, created.JobReference.JobId)
	if st.result.Error != nil {
		s.setStatus(i, 400)
		writeError(w, 400, st.result.Error.Reason, st.result.Error.Message)
		return
	}
	resp := &bq.QueryResponse{Kind: "bigquery#queryResponse", JobReference: created.JobReference}
	if created.Status.State == "DONE" {
		vals := map[string][]string{"formatOptions.useInt64Timestamp": {"false"}}
		if qr.FormatOptions != nil && qr.FormatOptions.UseInt64Timestamp {
			vals["formatOptions.useInt64Timestamp"] = []string{"true"}
		}
		if qr.MaxResults > 0 {
			vals["maxResults"] = []string{strconv.FormatInt(qr.MaxResults, 10)}
		}
		page, err := resultPage(st.result, vals)
		if err != nil {
			writeError(w, 400, "invalid", err.Error())
			return
		}
		resp.JobComplete, resp.Schema, resp.Rows, resp.PageToken, resp.TotalRows = true, page.Schema, page.Rows, page.PageToken, page.TotalRows
		resp.NumDmlAffectedRows = st.result.DMLAffectedRows
		resp.TotalBytesProcessed = st.result.BytesProcessed
	}
	writeJSON(w, resp)
}

var decoratorRE = regexp.MustCompile(`^([A-Za-z0-9_]+)\$(\d{8})$`)

// runLoad applies a load job to the fake's tables. A job error comes back
// as an ErrorProto, as BigQuery reports it in status.errorResult.
func (s *Server) runLoad(project string, cfg *bq.JobConfigurationLoad, media []byte) (int64, int64, *bq.ErrorProto) {
	dst := cfg.DestinationTable
	if dst == nil || dst.TableId == "" {
		return 0, 0, &bq.ErrorProto{Reason: "invalid", Message: "load job has no destination table"}
	}
	if f := cfg.SourceFormat; f != "NEWLINE_DELIMITED_JSON" {
		return 0, 0, &bq.ErrorProto{Reason: "invalid", Message: "the fake loads NEWLINE_DELIMITED_JSON only, got " + f}
	}
	p := dst.ProjectId
	if p == "" {
		p = project
	}
	name, partition := dst.TableId, ""
	if m := decoratorRE.FindStringSubmatch(dst.TableId); m != nil {
		name, partition = m[1], m[2]
	}
	var rows []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(media))
	sc.Buffer(make([]byte, 64*1024), 100<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var obj map[string]any
		if err := d.Decode(&obj); err != nil {
			return 0, 0, &bq.ErrorProto{Reason: "invalid", Location: fmt.Sprintf("line %d", line),
				Message: fmt.Sprintf("Error while reading data, error message: JSON parsing error in row starting at position 0: %v", err)}
		}
		rows = append(rows, obj)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.datasets[p+"."+dst.DatasetId]; !ok {
		return 0, 0, &bq.ErrorProto{Reason: "notFound", Message: fmt.Sprintf("Not found: Dataset %s:%s", p, dst.DatasetId)}
	}
	key := p + "." + dst.DatasetId + "." + name
	t, exists := s.tables[key]
	if !exists {
		if cfg.CreateDisposition == "CREATE_NEVER" {
			return 0, 0, &bq.ErrorProto{Reason: "notFound", Message: fmt.Sprintf("Not found: Table %s:%s.%s", p, dst.DatasetId, name)}
		}
		if cfg.Schema == nil {
			return 0, 0, &bq.ErrorProto{Reason: "invalid", Message: "No schema specified on job or table."}
		}
		t = &Table{Meta: &bq.Table{
			Id: p + ":" + dst.DatasetId + "." + name, Type: "TABLE",
			TableReference:   &bq.TableReference{ProjectId: p, DatasetId: dst.DatasetId, TableId: name},
			Schema:           cfg.Schema,
			TimePartitioning: cfg.TimePartitioning,
			Clustering:       cfg.Clustering,
		}}
	}
	schema := t.Meta.Schema
	if cfg.Schema != nil {
		schema = cfg.Schema
	}
	known := map[string]bool{}
	if schema != nil {
		for _, f := range schema.Fields {
			known[f.Name] = true
		}
	}
	for i, r := range rows {
		for k := range r {
			if !known[k] && !cfg.IgnoreUnknownValues {
				return 0, 0, &bq.ErrorProto{Reason: "invalid", Location: fmt.Sprintf("row %d", i+1),
					Message: fmt.Sprintf("JSON table encountered too many errors: no such field: %s.", k)}
			}
		}
	}
	if partition != "" {
		tp := t.Meta.TimePartitioning
		if tp == nil {
			return 0, 0, &bq.ErrorProto{Reason: "invalid", Message: "Partition decorators are only supported on partitioned tables: " + dst.TableId}
		}
		for i, r := range rows {
			if d := partitionOf(r[tp.Field]); d != partition {
				return 0, 0, &bq.ErrorProto{Reason: "invalid", Location: fmt.Sprintf("row %d", i+1),
					Message: fmt.Sprintf("Some rows belong to different partitions rather than destination partition %s (row partition %q)", partition, d)}
			}
		}
	}
	switch cfg.WriteDisposition {
	case "WRITE_TRUNCATE":
		if partition != "" {
			kept := t.Rows[:0:0]
			for _, r := range t.Rows {
				if partitionOf(r[t.Meta.TimePartitioning.Field]) != partition {
					kept = append(kept, r)
				}
			}
			t.Rows = append(kept, rows...)
		} else {
			t.Rows = rows
			if cfg.Schema != nil {
				t.Meta.Schema = cfg.Schema
			}
		}
	case "WRITE_EMPTY":
		if len(t.Rows) > 0 {
			return 0, 0, &bq.ErrorProto{Reason: "duplicate", Message: "Table is not empty: " + name}
		}
		t.Rows = rows
	default: // WRITE_APPEND is the API's default
		t.Rows = append(t.Rows, rows...)
	}
	m := *t.Meta // copies of the table share the old one
	m.LastModifiedTime = s.writeTime()
	if m.CreationTime == 0 {
		m.CreationTime = int64(m.LastModifiedTime)
	}
	t.Meta = &m
	s.tables[key] = t
	return int64(len(rows)), int64(len(media)), nil
}

// partitionOf renders a DATE or TIMESTAMP JSON value as YYYYMMDD.
func partitionOf(v any) string {
	s, ok := v.(string)
	if !ok {
		return "__NULL__"
	}
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		return s[0:4] + s[5:7] + s[8:10]
	}
	return "__UNPARTITIONED__"
}
