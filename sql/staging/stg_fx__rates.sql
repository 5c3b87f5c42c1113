/*
description: >
  Currency rates with their validity range, one row per (rate_date,
  from_currency, to_currency). Each loaded rate also yields its inverse unless
  the file states that direction itself for the same day. A currency with no
  rate into the reporting currency at all converts through a pivot: the first
  currency, by code, it has a rate into and that has one into the reporting
  currency (rates quoted against USD, reporting in EUR: GBP converts as
  GBP->USD->EUR); the cross rate is the product of the two rates valid on a
  day, and changes whenever either does (via_currency names the pivot). A rate
  is valid from its date until the next rate of the same pair, so conversions
  use the nearest earlier rate; dates before a pair's first rate have no rate.
materialized: table
tests:
  not_null: [rate_date, from_currency, to_currency, rate, valid_from]
  unique_combination: [[rate_date, from_currency, to_currency]]
*/
with loaded as (
  select
    rate_date,
    from_currency,
    to_currency,
    {{ safe_cast "rate" "FLOAT64" }} as rate,
    false as is_inverse
  from {{ source "fx" "rates" }}
  where rate > 0
),

inverse as (
  select
    l.rate_date,
    l.to_currency as from_currency,
    l.from_currency as to_currency,
    1 / l.rate as rate,
    true as is_inverse
  from loaded as l
  left join loaded as stated
    on stated.rate_date = l.rate_date
    and stated.from_currency = l.to_currency
    and stated.to_currency = l.from_currency
  where stated.rate_date is null
),

rates as (
  select * from loaded
  union all
  select * from inverse
),

stated as (
  select
    r.*,
    lead(r.rate_date) over (partition by r.from_currency, r.to_currency order by r.rate_date) as valid_to
  from rates as r
),

into_reporting as (
  select distinct from_currency
  from stated
  where to_currency = {{ var "reporting_currency" }}
),

pivots as (
  select a.from_currency, min(a.to_currency) as pivot
  from stated as a
  join into_reporting as p on p.from_currency = a.to_currency
  left join into_reporting as direct on direct.from_currency = a.from_currency
  where a.from_currency != {{ var "reporting_currency" }}
    and direct.from_currency is null
  group by a.from_currency
),

-- a cross rate changes on the dates of either of its two rates
cross_dates as (
  select distinct p.from_currency, p.pivot, s.rate_date
  from pivots as p
  join stated as s
    on (s.from_currency = p.from_currency and s.to_currency = p.pivot)
    or (s.from_currency = p.pivot and s.to_currency = {{ var "reporting_currency" }})
),

crossed as (
  select
    d.rate_date,
    d.from_currency,
    {{ var "reporting_currency" }} as to_currency,
    a.rate * b.rate as rate,
    false as is_inverse,
    d.pivot as via_currency
  from cross_dates as d
  join stated as a
    on a.from_currency = d.from_currency and a.to_currency = d.pivot
    and d.rate_date >= a.rate_date and (a.valid_to is null or d.rate_date < a.valid_to)
  join stated as b
    on b.from_currency = d.pivot and b.to_currency = {{ var "reporting_currency" }}
    and d.rate_date >= b.rate_date and (b.valid_to is null or d.rate_date < b.valid_to)
),

all_rates as (
  select rate_date, from_currency, to_currency, rate, is_inverse, cast(null as string) as via_currency
  from rates
  union all
  select * from crossed
)

select
  rate_date,
  from_currency,
  to_currency,
  rate,
  is_inverse,
  via_currency,
  rate_date as valid_from,
  -- exclusive end: the next rate of the same pair takes over on its date
  lead(rate_date) over (partition by from_currency, to_currency order by rate_date) as valid_to
from all_rates
