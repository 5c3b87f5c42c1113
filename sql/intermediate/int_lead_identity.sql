/*
description: >
  Links each live CRM lead to the GA client ids (client_key, bare x.y) that
  are the same visitor: the hidden-field client id captured with the form
  (client_id), a GA4 event or session carrying the lead's gclid (gclid), and
  a GA4 event carrying the lead's user_id (user_id). A lead may have several
  client keys and several link types; a client key is linked once per type.
  A table: every CRM change restates it; it reads the events' ids through
  int_client_ids_daily (incremental) and the sessions' gclids, so a rebuild
  scans no event.
materialized: table
cluster_by: [lead_id]
tests:
  not_null: [lead_id, client_key, link_type]
  unique_combination: [[lead_id, client_key, link_type]]
  accepted_values: {link_type: [client_id, gclid, user_id]}
  relationships: {lead_id: stg_crm__leads.lead_id}
*/
with leads as (
  select lead_id, ga_client_id, gclid, user_id
  from {{ ref "stg_crm__leads" }}
  where not is_deleted
),

ga_gclids as (
  select distinct client_key, gclid
  from {{ ref "int_client_ids_daily" }}
  where gclid is not null
  union distinct
  select distinct client_key, gclid
  from {{ ref "stg_ga4__sessions" }}
  where gclid is not null and client_key is not null
),

ga_users as (
  select distinct client_key, user_id
  from {{ ref "int_client_ids_daily" }}
  where user_id is not null
),

links as (
  select lead_id, ga_client_id as client_key, 'client_id' as link_type
  from leads
  where ga_client_id is not null
  union all
  select l.lead_id, g.client_key, 'gclid' as link_type
  from leads as l
  join ga_gclids as g on g.gclid = l.gclid
  union all
  select l.lead_id, u.client_key, 'user_id' as link_type
  from leads as l
  join ga_users as u on u.user_id = l.user_id
)

select distinct lead_id, client_key, link_type
from links
