/*
description: >
  Lists the CRM records whose latest versions conflict: two versions with
  the same modified_at, loaded in the same batch, that differ in what
  staging reads (version_conflict in staging), such as two rows of one
  lead with the same updated_at in an export file. Staging keeps one of
  them the same way in every run, but nothing says it is current: fix the
  record in the CRM, or the export. Leads, deals and touches also hold their leads back
  from activation (int_quarantined_leads); accounts do not.
severity: warn
*/
select 'lead' as object_type, lead_id as record_id
from {{ ref "stg_crm__leads" }}
where version_conflict
union all
select 'deal', deal_id
from {{ ref "stg_crm__deals" }}
where version_conflict
union all
select 'touch', touch_id
from {{ ref "stg_crm__touches" }}
where version_conflict
union all
select 'account', account_id
from {{ ref "stg_crm__accounts" }}
where version_conflict
