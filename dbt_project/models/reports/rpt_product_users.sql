-- Product users: per team, range, product and user of the product in the range.
with user_totals as (
    select
        team_id,
        as_of_date,
        range_order,
        time_range,
        months,
        product_line_code,
        product_name,
        autodesk_id,
        sum(tokens) as tokens
    from {{ ref('report_range_usage') }}
    group by
        team_id,
        as_of_date,
        range_order,
        time_range,
        months,
        product_line_code,
        product_name,
        autodesk_id
)

select
    totals.team_id,
    totals.as_of_date,
    totals.range_order,
    totals.time_range,
    totals.product_name as product,
    shown.hashed_autodesk_id,
    shown.user_name,
    cast(totals.tokens as {{ dbt.type_bigint() }}) as total_tokens_used,
    {{ report_per_month('totals.tokens', 'totals.months') }} as average_tokens_per_month
from user_totals as totals
inner join {{ ref('report_team_users') }} as shown
    on totals.team_id = shown.team_id and totals.autodesk_id = shown.autodesk_id
