package crm

import (
	"context"
	"fmt"
	"strings"

	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/warehouse"
)

// LinkLog reads the links SAM has loaded for a source's records, chosen as
// staging chooses them.
type LinkLog interface {
	// Loaded maps each record id of object (record.LinkedDeals,
	// record.LinkedAccounts or record.LinkedTouchesOf(touch type)) loaded
	// from source to
	// what its latest version links, in no particular order: lead ids, or
	// an account's "lead:ID" and "deal:ID". A record that links nothing
	// maps to an empty list.
	Loaded(ctx context.Context, source, object string) (map[string][]string, error)
}

// LinkRefresher is a Source whose CRM changes some links without changing
// the linked record's modification time, so no sweep by modification date
// sees the change (HubSpot associations). Its link streams compare what the
// CRM links now with what is loaded and write again only the records whose
// links changed: the same version, loaded later, which staging prefers.
type LinkRefresher interface {
	// ReadRefreshing is Source.Read given the links already loaded; loaded
	// is called only by the streams that compare links.
	ReadRefreshing(ctx context.Context, stream, cursor string, loaded func(ctx context.Context, object string) (map[string][]string, error), emit func(context.Context, *record.Batch) error) error
}

// NewLinkLog returns a LinkLog that reads the raw CRM tables.
func NewLinkLog(wh warehouse.Warehouse) LinkLog { return whLinkLog{wh: wh} }

type whLinkLog struct{ wh warehouse.Warehouse }

// Loaded implements LinkLog. The version order is crm_latest_version's
// (sql/macros/crm.sql), and the snapshot links of a deal or an account are
// the rows written in the same batch as its latest version, as
// stg_crm__deals and stg_crm__account_links join them.
func (l whLinkLog) Loaded(ctx context.Context, source, object string) (map[string][]string, error) {
	var q string
	args := []any{source}
	switch object {
	case record.LinkedDeals:
		q = `select d.deal_id, a.lead_id
from (` + l.latest(record.DealsTable, "deal_id", "modified_at, loaded_at") + `) as d
left join ` + l.wh.QualifiedName(record.DealContactsTable) + ` as a
  on a.deal_id = d.deal_id and a.modified_at = d.modified_at and a.loaded_at = d.loaded_at
  and a.source_system = ? and coalesce(a.is_snapshot, false) and not coalesce(a.is_deleted, false)`
		args = append(args, source)
	case record.LinkedAccounts:
		q = `select c.account_id, l.object_type, l.record_id
from (` + l.latest(record.AccountsTable, "account_id", "modified_at, loaded_at") + `) as c
left join ` + l.wh.QualifiedName(record.AccountLinksTable) + ` as l
  on l.account_id = c.account_id and l.modified_at = c.modified_at and l.loaded_at = c.loaded_at
  and l.source_system = ? and coalesce(l.is_snapshot, false) and not coalesce(l.is_deleted, false)`
		args = append(args, source)
	default:
		touchType, ok := strings.CutPrefix(object, record.LinkedTouches+":")
		if !ok {
			return nil, fmt.Errorf("crm: no links are kept for %q", object)
		}
		q = `select touch_id, lead_id
from (` + l.latest(record.TouchesTable, "touch_id", "lead_id, touch_type") + `) as t
where touch_type = ?`
		args = append(args, touchType)
	}
	rows, err := l.wh.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("crm: read the loaded links of %s %s: %w", source, object, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		return nil, fmt.Errorf("crm: read the loaded links of %s %s: %w", source, object, err)
	}
	links := make(map[string][]string, len(data))
	for _, r := range data {
		id, _ := r[0].(string)
		if links[id] == nil {
			links[id] = []string{}
		}
		if link, ok := linkOf(r[1:]); ok {
			links[id] = append(links[id], link)
		}
	}
	return links, nil
}

// latest selects key and cols of the latest version of each record of the
// source (the first argument) in table, ordered as crm_latest_version
// orders them, tie-break included.
func (l whLinkLog) latest(table, key, cols string) string {
	return `select ` + key + `, ` + cols + `
  from (
    select *, row_number() over (partition by ` + key + ` order by modified_at desc nulls last, loaded_at desc, version_hash nulls last) as version_rank
    from ` + l.wh.QualifiedName(table) + `
    where source_system = ? and ` + key + ` is not null
  ) as versions
  where version_rank = 1`
}

// linkOf joins a link's parts with ":" (an account's "lead:ID"); ok is
// false when any part is empty: no link.
func linkOf(parts []any) (string, bool) {
	ss := make([]string, len(parts))
	for i, p := range parts {
		s, _ := p.(string)
		if s == "" {
			return "", false
		}
		ss[i] = s
	}
	return strings.Join(ss, ":"), true
}
