/*
description: >
  Lists the leads held back from activation and why (int_quarantined_leads),
  so that they are seen and fixed in the CRM; the run goes on without them.
severity: warn
*/
select lead_id, reason
from {{ ref "int_quarantined_leads" }}
