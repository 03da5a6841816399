-- Usage of the reported teams per time range, user, product and version: the daily usage is
-- aggregated once per date band (int_range_bands), then the bands are rolled up to the ranges
-- that contain them. days_used counts distinct usage dates (the daily rows are unique per
-- team, user, product, version and date, and bands do not overlap).
with band_usage as (
    select
        team_id,
        band_start,
        autodesk_id,
        product_line_code,
        version,
        sum(tokens) as tokens,
        count(*) as days_used
    from {{ report_band_daily_usage() }} as daily
    group by team_id, band_start, autodesk_id, product_line_code, version
)

select
    band_usage.team_id,
    ranges.range_order,
    band_usage.autodesk_id,
    band_usage.product_line_code,
    band_usage.version,
    cast(sum(band_usage.tokens) as {{ dbt.type_bigint() }}) as tokens,
    cast(sum(band_usage.days_used) as {{ dbt.type_bigint() }}) as days_used
from band_usage
inner join {{ ref('int_range_bands') }} as ranges on band_usage.band_start = ranges.band_start
group by
    band_usage.team_id,
    ranges.range_order,
    band_usage.autodesk_id,
    band_usage.product_line_code,
    band_usage.version
