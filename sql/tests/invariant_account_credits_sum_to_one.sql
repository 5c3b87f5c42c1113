/*
description: >
  Credits of one account sum to 1 for every attribution model, and every
  account with an opportunity is credited under every model.
*/
with models as (
  {{ macro "attribution_models" }}
),

expected as (
  select a.account_id, m.model
  from {{ ref "fct_account_revenue" }} as a
  cross join models as m
  where a.first_opportunity_at is not null
),

credited as (
  select account_id, model, sum(credit) as total_credit
  from {{ ref "account_attribution_touchpoints" }}
  group by account_id, model
)

select coalesce(e.account_id, c.account_id) as account_id, coalesce(e.model, c.model) as model, c.total_credit
from expected as e
full outer join credited as c on c.account_id = e.account_id and c.model = e.model
where c.total_credit is null or e.account_id is null or abs(c.total_credit - 1) > 1e-9
