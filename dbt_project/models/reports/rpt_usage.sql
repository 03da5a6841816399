-- Usage sheet: the usage history rows dated in Past 30 days.
select
    history.team_id,
    history.as_of_date,
    history.usage_id,
    history.charge_ts,
    history.hashed_autodesk_id,
    history.autodesk_id,
    history.email,
    history.first_name,
    history.last_name,
    history.team,
    history.offering,
    history.product,
    history.version,
    history.usage_type,
    history.day_used,
    history.tokens_used
from {{ ref('rpt_usage_history') }} as history
inner join {{ ref('int_time_ranges') }} as ranges
    on history.day_used between ranges.start_date and ranges.end_date
where ranges.time_range = 'Past 30 days'
