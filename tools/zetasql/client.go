package zetasql

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sam-attribution/sam/warehouse"
)

// maxMessageSize bounds one gRPC message. Analyze responses carry the whole
// resolved AST, which for a long model runs to megabytes.
const maxMessageSize = 256 << 20

// Client calls a running ZetaSQL local service. It is safe for concurrent
// use.
type Client struct {
	conn *grpc.ClientConn
	api  *api
}

// Dial connects to the service at addr (a Server's Addr), using the .proto
// files in protoDir (the protos folder install.sh puts next to the binary).
// It does not wait for the service; Server.Start already has.
func Dial(ctx context.Context, addr, protoDir string) (*Client, error) {
	a, err := loadAPI(ctx, protoDir)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("zetasql: connect to %s: %w", addr, err)
	}
	return &Client{conn: conn, api: a}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// AnalysisError is the analyzer rejecting a statement.
type AnalysisError struct {
	// Message is the analyzer's message without its location,
	// e.g. "Unrecognized name: sesion_key; Did you mean session_key?".
	Message string
	// Line and Column locate the error in the statement (1-based), or are
	// zero when the analyzer gave no location.
	Line, Column int
	// Detail is the analyzer's full text: the message with its location,
	// the offending source line and a caret under the column.
	Detail string
}

func (e *AnalysisError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message)
	}
	return e.Message
}

var locationRE = regexp.MustCompile(`\s*\[at (\d+):(\d+)\]`)

// analysisError turns the service's INVALID_ARGUMENT status into an
// *AnalysisError; other failures (transport, internal) are wrapped as they
// are.
func analysisError(op string, err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return fmt.Errorf("zetasql %s: %w", op, err)
	}
	detail := st.Message()
	first, _, _ := strings.Cut(detail, "\n")
	e := &AnalysisError{Message: first, Detail: detail}
	if m := locationRE.FindStringSubmatchIndex(first); m != nil {
		e.Line, _ = strconv.Atoi(first[m[2]:m[3]])
		e.Column, _ = strconv.Atoi(first[m[4]:m[5]])
		e.Message = strings.TrimSpace(first[:m[0]] + first[m[1]:])
	}
	return e
}

// IsAnalysisError reports whether err is (or wraps) an *AnalysisError.
func IsAnalysisError(err error) bool {
	var ae *AnalysisError
	return errors.As(err, &ae)
}

type analyzeRequest struct {
	Options             *analyzerOptionsProto `json:"options"`
	SimpleCatalog       *simpleCatalogProto   `json:"simple_catalog"`
	SQLStatement        string                `json:"sql_statement,omitempty"`
	ParseResumeLocation *parseResumeLocation  `json:"parse_resume_location,omitempty"`
}

type parseResumeLocation struct {
	Input        string `json:"input"`
	BytePosition int    `json:"byte_position"`
	AllowResume  bool   `json:"allow_resume"`
}

// analyzed is what SAM reads from an AnalyzeResponse: the statement node
// inside the resolved statement's oneof wrappers (AnyResolvedStatementProto,
// AnyResolvedCreateStatementProto, ...), read through protoreflect, since
// the resolved AST of a long query is large and only a few fields matter.
type analyzed struct {
	kind    string // "query", "insert", "create_table", ...
	columns []warehouse.Column
	resume  int // resume_byte_position, or -1
}

func (c *Client) readAnalyzed(resp protoreflect.Message) (analyzed, error) {
	a := analyzed{resume: -1}
	fields := resp.Descriptor().Fields()
	if fd := fields.ByName("resume_byte_position"); fd != nil && resp.Has(fd) {
		a.resume = int(resp.Get(fd).Int())
	}
	fd := fields.ByName("resolved_statement")
	if fd == nil || !resp.Has(fd) {
		return a, nil
	}
	node := resp.Get(fd).Message()
	name := ""
	for {
		var only protoreflect.FieldDescriptor
		count := 0
		node.Range(func(f protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			only = f
			count++
			return true
		})
		if count != 1 || only.Message() == nil || !isNodeField(only.Name()) {
			break
		}
		name = string(only.Name())
		next := node.Get(only).Message()
		if !isWrapper(next) {
			node = next
			break
		}
		node = next
	}
	a.kind = strings.TrimSuffix(strings.TrimPrefix(name, "resolved_"), "_stmt_node")
	if a.kind != "query" {
		return a, nil
	}
	list := node.Get(node.Descriptor().Fields().ByName("output_column_list")).List()
	for i := 0; i < list.Len(); i++ {
		oc := list.Get(i).Message()
		ocf := oc.Descriptor().Fields()
		colName := oc.Get(ocf.ByName("name")).String()
		col := oc.Get(ocf.ByName("column")).Message()
		var tp typeProto
		if err := c.decode(col.Get(col.Descriptor().Fields().ByName("type")).Message().Interface(), &tp); err != nil {
			return a, fmt.Errorf("output column %s: %w", colName, err)
		}
		wc, err := column(colName, &tp)
		if err != nil {
			return a, fmt.Errorf("output %w", err)
		}
		a.columns = append(a.columns, wc)
	}
	return a, nil
}

func isNodeField(name protoreflect.Name) bool {
	return strings.HasPrefix(string(name), "resolved_") && strings.HasSuffix(string(name), "_node")
}

// isWrapper reports whether m is a oneof wrapper (Any...Proto): every field
// belongs to one oneof of node fields.
func isWrapper(m protoreflect.Message) bool {
	fs := m.Descriptor().Fields()
	if fs.Len() == 0 {
		return false
	}
	for i := 0; i < fs.Len(); i++ {
		if fs.Get(i).ContainingOneof() == nil || !isNodeField(fs.Get(i).Name()) {
			return false
		}
	}
	return true
}

// Analyze resolves one statement against cat with BigQuery's language
// options. For a query it returns the output columns with their types; for
// other statements it returns no columns. A statement the analyzer rejects
// yields an *AnalysisError.
func (c *Client) Analyze(ctx context.Context, sql string, cat *Catalog) ([]warehouse.Column, error) {
	opts := bigQueryAnalyzerOptions()
	cp, err := cat.proto(opts.LanguageOptions, true, sql)
	if err != nil {
		return nil, err
	}
	resp, err := c.invoke(ctx, "Analyze", analyzeRequest{Options: opts, SimpleCatalog: cp, SQLStatement: sql})
	if err != nil {
		return nil, analysisError("analyze", err)
	}
	a, err := c.readAnalyzed(resp)
	if err != nil {
		return nil, fmt.Errorf("zetasql analyze: %w", err)
	}
	return a.columns, nil
}

// Statement is one analyzed statement of a script.
type Statement struct {
	// Kind is the resolved statement kind in lower snake case: query,
	// insert, delete, create_table, begin, commit, ...
	Kind string
	// Columns are a query's output columns.
	Columns []warehouse.Column
}

// AnalyzeScript resolves each statement of a semicolon-separated script in
// turn, every one against cat (a table a statement creates is not visible to
// later ones unless cat already holds it). It stops at the first statement
// the analyzer rejects; the *AnalysisError's line and column are positions
// in the whole script. Procedural scripting (DECLARE, IF, LOOP) is not
// supported by the analyzer.
func (c *Client) AnalyzeScript(ctx context.Context, sql string, cat *Catalog) ([]Statement, error) {
	opts := bigQueryAnalyzerOptions()
	cp, err := cat.proto(opts.LanguageOptions, true, sql)
	if err != nil {
		return nil, err
	}
	var out []Statement
	pos := 0
	for len(strings.TrimSpace(stripComments(sql[pos:]))) > 0 {
		req := analyzeRequest{Options: opts, SimpleCatalog: cp,
			ParseResumeLocation: &parseResumeLocation{Input: sql, BytePosition: pos, AllowResume: true}}
		resp, err := c.invoke(ctx, "Analyze", req)
		if err != nil {
			return out, analysisError("analyze", err)
		}
		a, err := c.readAnalyzed(resp)
		if err != nil {
			return out, fmt.Errorf("zetasql analyze: %w", err)
		}
		out = append(out, Statement{Kind: a.kind, Columns: a.columns})
		if a.resume <= pos {
			break
		}
		pos = a.resume
	}
	return out, nil
}

// stripComments blanks -- and # line comments and /* */ block comments, so
// a script's trailing comment is not taken for another statement. String
// literals are not parsed: it only decides whether anything is left.
func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "--") || s[i] == '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return b.String()
			}
			i += j
		case strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return b.String()
			}
			i += j + 4
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// Result is an evaluated query: its columns and rows.
type Result struct {
	Columns []warehouse.Column
	// Rows hold Go values: nil (NULL), string, int64, float64, bool, []byte,
	// time.Time (TIMESTAMP in UTC; DATE and DATETIME as UTC wall-clock
	// times), NUMERIC and BIGNUMERIC as shortest decimal text ("12.5"),
	// JSON as its text, TIME as "15:04:05.999999", []any for arrays and
	// map[string]any for structs.
	Rows [][]any
}

type evaluateQueryRequest struct {
	SQL           string                  `json:"sql"`
	Options       *analyzerOptionsProto   `json:"options"`
	SimpleCatalog *simpleCatalogProto     `json:"simple_catalog"`
	TableContent  map[string]tableContent `json:"table_content,omitempty"`
}

type tableContent struct {
	TableData tableData `json:"table_data"`
}

type tableData struct {
	Row []tableRow `json:"row,omitempty"`
}

type tableRow struct {
	Cell []valueProto `json:"cell,omitempty"`
}

type evaluateQueryResponse struct {
	Content  tableContent `json:"content"`
	Prepared struct {
		Columns []simpleColumnProto `json:"columns"`
	} `json:"prepared"`
}

// EvaluateQuery runs a query with ZetaSQL's reference implementation over
// the Rows of cat's tables. The service attaches contents only to tables of
// the root catalog, so here tables are reachable only by their whole path
// quoted as one identifier (`proj.sam.t`), the form SAM's renderer writes;
// proj.sam.t is reported as not found. Query errors the analyzer reports yield an
// *AnalysisError; runtime errors (division by zero, a failed CAST) are
// returned as the service words them.
func (c *Client) EvaluateQuery(ctx context.Context, sql string, cat *Catalog) (*Result, error) {
	opts := bigQueryAnalyzerOptions()
	cp, err := cat.proto(opts.LanguageOptions, false, sql)
	if err != nil {
		return nil, err
	}
	req := evaluateQueryRequest{SQL: sql, Options: opts, SimpleCatalog: cp, TableContent: map[string]tableContent{}}
	for _, t := range cat.tables {
		if !strings.Contains(strings.ToLower(sql), strings.ToLower(t.Path[len(t.Path)-1])) {
			continue // not in the catalog sent either
		}
		content, err := encodeRows(t)
		if err != nil {
			return nil, err
		}
		req.TableContent[t.Name()] = content
	}
	var resp evaluateQueryResponse
	if err := c.call(ctx, "EvaluateQuery", req, &resp); err != nil {
		return nil, analysisError("evaluate", err)
	}
	res := &Result{}
	for _, sc := range resp.Prepared.Columns {
		col, err := column(sc.Name, sc.Type)
		if err != nil {
			return nil, fmt.Errorf("zetasql evaluate: result %w", err)
		}
		res.Columns = append(res.Columns, col)
	}
	for i, r := range resp.Content.TableData.Row {
		if len(r.Cell) != len(res.Columns) {
			return nil, fmt.Errorf("zetasql evaluate: row %d has %d cells for %d columns", i, len(r.Cell), len(res.Columns))
		}
		row := make([]any, len(r.Cell))
		for j, cell := range r.Cell {
			v, err := decodeValue(res.Columns[j], cell)
			if err != nil {
				return nil, fmt.Errorf("zetasql evaluate: row %d: %w", i, err)
			}
			row[j] = v
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

func encodeRows(t Table) (tableContent, error) {
	cols := t.allColumns()
	var td tableData
	for i, r := range t.Rows {
		if len(r) != len(cols) {
			return tableContent{}, fmt.Errorf("table %s row %d: %d values for %d columns", t.Name(), i, len(r), len(cols))
		}
		row := tableRow{Cell: make([]valueProto, len(r))}
		for j, v := range r {
			cell, err := encodeValue(cols[j], v)
			if err != nil {
				return tableContent{}, fmt.Errorf("table %s row %d: %w", t.Name(), i, err)
			}
			row.Cell[j] = cell
		}
		td.Row = append(td.Row, row)
	}
	return tableContent{TableData: td}, nil
}
