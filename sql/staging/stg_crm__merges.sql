/*
description: >
  One row per record a CRM merged into another (HubSpot names them in the
  merged record's hs_merged_object_ids): object_type (lead, deal or
  account), merged_id, and into_id, the record it lives on now. Each merged
  id takes the latest merge that names it, then follows the record that
  names it through up to three later merges: HubSpot's newest record is
  expected to list every id merged before it, and the steps cover it if it
  does not. The CRM staging models point whatever still names a merged id
  at into_id; activation_events lists a lead's merged ids, so what reached
  a platform under them is not sent again.
materialized: table
tests:
  not_null: [source_system, object_type, merged_id, into_id]
  unique_combination: [[source_system, object_type, merged_id]]
  accepted_values: {object_type: [lead, deal, account]}
*/
with latest as (
  {{ macro "crm_latest_version" (source "crm" "merges") "source_system, object_type, merged_id" "merged_id is not null and into_id is not null"
    "into_id" }}
)

select
  m.source_system,
  m.object_type,
  m.merged_id,
  coalesce(m3.into_id, m2.into_id, m1.into_id, m.into_id) as into_id
from latest as m
left join latest as m1
  on m1.source_system = m.source_system and m1.object_type = m.object_type and m1.merged_id = m.into_id
left join latest as m2
  on m2.source_system = m.source_system and m2.object_type = m.object_type and m2.merged_id = m1.into_id
left join latest as m3
  on m3.source_system = m.source_system and m3.object_type = m.object_type and m3.merged_id = m2.into_id
