/*
description: >
  An account's won revenue equals the sum of its won deals, and every account
  with a won deal is in fct_account_revenue.
*/
with deals as (
  select account_id, coalesce(sum(amount_reporting), 0) as won_revenue
  from {{ ref "int_account_deals" }}
  where is_won
  group by account_id
)

select coalesce(a.account_id, d.account_id) as account_id, a.won_revenue, d.won_revenue as won_deals_revenue
from {{ ref "fct_account_revenue" }} as a
full outer join deals as d on d.account_id = a.account_id
where abs(coalesce(a.won_revenue, 0) - coalesce(d.won_revenue, 0)) > 0.005
  or (a.account_id is null and d.won_revenue != 0)
