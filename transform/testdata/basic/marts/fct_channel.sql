/*
materialized: table
cluster_by: [channel]
tests:
  not_null: [channel]
  unique: [channel]
  accepted_values: {channel: [email, search, social]}
  relationships: {channel: seed_channels.channel}
*/
select
  d.channel,
  c.priority,
  sum(d.events) as events,
  sum(d.amount) as amount,
  {{ var "reporting_currency" }} as currency
from {{ ref "int_daily" }} as d
left join {{ ref "seed_channels" }} as c using (channel)
group by d.channel, c.priority
