/*
description: >
  Currency rates with their validity range, one row per (rate_date,
  from_currency, to_currency). Each loaded rate also yields its inverse unless
  the file states that direction itself for the same day. A rate is valid
  from its date until the next rate of the same pair, so conversions use the
  nearest earlier rate; dates before a pair's first rate have no rate.
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
)

select
  rate_date,
  from_currency,
  to_currency,
  rate,
  is_inverse,
  rate_date as valid_from,
  -- exclusive end: the next rate of the same pair takes over on its date
  lead(rate_date) over (partition by from_currency, to_currency order by rate_date) as valid_to
from rates
