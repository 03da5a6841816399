-- Every (team, user) pair a report can show: users with usage in the team and team members.
-- The displayed identity follows the team's include_pii setting; a missing setting hides PII.
with team_user_keys as (
    select
        daily.team_id,
        daily.autodesk_id
    from {{ ref('fct_daily_usage') }} as daily
    inner join {{ ref('int_report_teams') }} as teams on daily.team_id = teams.team_id
    union
    select
        members.team_id,
        members.autodesk_id
    from {{ ref('fct_team_membership') }} as members
    inner join {{ ref('int_report_teams') }} as teams on members.team_id = teams.team_id
)

select
    pairs.team_id,
    pairs.autodesk_id,
    user_dim.hashed_autodesk_id,
    case when teams.include_pii then pairs.autodesk_id else '*****' end as shown_autodesk_id,
    case when teams.include_pii then user_dim.email else '*****' end as email,
    case when teams.include_pii then user_dim.first_name else '*****' end as first_name,
    case when teams.include_pii then user_dim.last_name else '*****' end as last_name,
    case
        when teams.include_pii then coalesce(user_dim.full_name, '')
        else user_dim.hashed_autodesk_id
    end as user_name
from team_user_keys as pairs
inner join {{ ref('int_report_teams') }} as teams on pairs.team_id = teams.team_id
left join {{ ref('dim_user') }} as user_dim on pairs.autodesk_id = user_dim.autodesk_id
