/*
description: >
  stg_crm__leads keeps emails only as lower-case hex SHA-256 digests: any
  other value would mean a raw or half-processed email reached staging.
*/
select lead_id, email_sha256
from {{ ref "stg_crm__leads" }}
where email_sha256 is not null
  and not regexp_contains(email_sha256, '^[0-9a-f]{64}$')
