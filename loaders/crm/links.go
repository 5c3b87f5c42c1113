package crm

import (
	"context"
	"fmt"

	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/warehouse"
)

// LinkLog reads the links SAM has loaded for a source's records, chosen as
// staging chooses them.
type LinkLog interface {
	// Loaded maps each record id of object (record.LinkedDeals or
	// record.LinkedTouches)
	// loaded from source to the lead ids its latest version links, in no
	// particular order; a record linked to no lead maps to an empty list.
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
// (sql/macros/crm.sql), and a deal's contacts are the snapshot rows written
// in the same batch as that version, as stg_crm__deals joins them.
func (l whLinkLog) Loaded(ctx context.Context, source, object string) (map[string][]string, error) {
	var q string
	args := []any{source}
	switch object {
	case record.LinkedDeals:
		q = `select d.deal_id, a.lead_id
from (
  select deal_id, modified_at, loaded_at,
    row_number() over (partition by deal_id order by modified_at desc nulls last, loaded_at desc) as version_rank
  from ` + l.wh.QualifiedName(record.DealsTable) + `
  where source_system = ? and deal_id is not null
) as d
left join ` + l.wh.QualifiedName(record.DealContactsTable) + ` as a
  on a.deal_id = d.deal_id and a.modified_at = d.modified_at and a.loaded_at = d.loaded_at
  and a.source_system = ? and coalesce(a.is_snapshot, false) and not coalesce(a.is_deleted, false)
where d.version_rank = 1`
		args = append(args, source)
	case record.LinkedTouches:
		q = `select touch_id, lead_id
from (
  select touch_id, lead_id,
    row_number() over (partition by touch_id order by modified_at desc nulls last, loaded_at desc) as version_rank
  from ` + l.wh.QualifiedName(record.TouchesTable) + `
  where source_system = ? and touch_id is not null
) as t
where version_rank = 1`
	default:
		return nil, fmt.Errorf("crm: no links are kept for %q", object)
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
		lead, _ := r[1].(string)
		ids := links[id]
		if ids == nil {
			ids = []string{}
		}
		if lead != "" {
			ids = append(ids, lead)
		}
		links[id] = ids
	}
	return links, nil
}
