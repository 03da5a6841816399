{#-
    Generic test: every team whose status is 'active' in dim_team has exactly `expected` rows
    in the model, and no other team has any. Returns the teams that break it.
-#}
{% test rows_per_active_team(model, expected) %}
    with active_teams as (
        select team_id
        from {{ ref('dim_team') }}
        where status = 'active'
    ),

    model_rows as (
        select
            team_id,
            count(*) as row_count
        from {{ model }}
        group by team_id
    )

    select
        coalesce(active_teams.team_id, model_rows.team_id) as team_id,
        coalesce(model_rows.row_count, 0) as row_count,
        case when active_teams.team_id is null then 0 else {{ expected }} end as expected_rows
    from active_teams
    full outer join model_rows
        on active_teams.team_id = model_rows.team_id
    where
        coalesce(model_rows.row_count, 0)
        <> case when active_teams.team_id is null then 0 else {{ expected }} end
{% endtest %}
