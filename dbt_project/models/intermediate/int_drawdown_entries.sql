{{
    config(
        materialized=incremental_materialization(),
        unique_key='team_id',
        incremental_strategy='replace_from_cut',
        cut_column='entry_ts',
        cut_marker="entry_kind = 'cut'",
        on_schema_change='append_new_columns',
        pre_hook="{{ drawdown_session_settings() }}",
        post_hook="{{ delete_entries_of_teams_without_items() }}",
    )
}}
{#-
    The drawdown as a timeline of entries per team: every token event on a
    pack the team holds (+/- tokens), every draw of a charge from a pack, and
    the part of a charge no pack could cover. A pack's balance at any instant
    is its events minus its draws up to then.

    Incremental (keyed on team, strategy replace_from_cut): a team whose
    charges, token events or packs are unchanged since the previous build is
    not touched. For a changed team the entries before the earliest changed
    instant (the cut) stay in place, and the drawdown is replayed from the
    cut, each pack starting from its balance just before it; the batch holds
    the replayed entries and a marker row (entry_kind 'cut') at the cut. A
    change to a pack's dates or size replays the team from the start. Only
    charges the usage history rewrote since the previous build, or that the
    as-of date moved over, are compared with their entries (all of them when
    the history was rebuilt from scratch, or the table predates
    built_usage_seq). `dbt build --full-refresh` (and Spark, without DELETE)
    replays every team from the start. built_seq numbers the builds: the
    entries a build replayed carry its number, the kept ones their own;
    built_usage_seq is the usage history's build the entry's build read.
-#}
{%- set tracked = incremental_with_column('built_usage_seq') -%}
{%- set depth = drawdown_depth() -%}
{%- set dawn = "cast('1900-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")" -%}
{%- set this_build = "(select p.seq + 1 from previous_build as p)" if is_incremental() else "1" -%}

with charges as (
    -- a 0-token charge draws nothing and changes no balance
    select
        usage_id,
        team_id,
        usage_date,
        charge_ts,
        tokens
    from {{ ref('stg_usage') }}
    where tokens > 0
),

held_events as (
    select
        e.event_id,
        e.team_id,
        e.subscription_id,
        e.event_ts,
        e.tokens,
        l.start_date,
        l.end_date,
        l.tokens_purchased
    from {{ ref('stg_token_events') }} as e
    inner join {{ ref('int_team_pack_ledger') }} as l
        on e.team_id = l.team_id and e.subscription_id = l.subscription_id
),

usage_build as (
    select coalesce(max(built_seq), 0) as seq
    from {{ ref('stg_usage_history') }}
),

{% if is_incremental() %}
    previous_build as (
        -- -2 is no build the history can be at: every charge is compared
        select
            coalesce(max(built_seq), 0) as seq,
            coalesce({{ 'max(built_usage_seq)' if tracked else '-2' }}, -2) as usage_seq,
            coalesce(max(usage_date), cast('1900-01-01' as date)) as last_date
        from {{ this }}
    ),

    compare_all as (
        -- a history sequence that went back: the history was rebuilt from scratch
        select
            p.usage_seq < 0 or u.seq < p.usage_seq as everything
        from previous_build as p
        cross join usage_build as u
    ),

    candidate_charges as (
        -- the only charges that can differ from their entries: rewritten by the history
        -- since the previous build, or moved over by D (after the last day the entries
        -- hold when D moved forward, after D when it moved back)
        select h.usage_id
        from {{ ref('stg_usage_history') }} as h
        cross join previous_build as p
        where h.built_seq > p.usage_seq
        union
        {{ keys_moved_over_by_as_of('usage_id', 'item_id') }}
    ),

    {#- `everything or key in (candidates)`: with the OR, DuckDB hashes the few candidates
        and probes them with the millions of charges and entries; a plain IN let it hash the
        big side when it guessed the candidates many (3.2 s against 1.3 s at large). -#}
    compared_charges as (
        select c.*
        from charges as c
        where
            (select a.everything from compare_all as a)
            or c.usage_id in (select k.usage_id from candidate_charges as k)
    ),

    previous_charges as (
        select
            team_id,
            item_id as usage_id,
            max(entry_ts) as charge_ts,
            max(usage_date) as usage_date,
            sum(tokens) as tokens
        from {{ this }}
        where
            entry_kind <> 'event'
            and (
                (select a.everything from compare_all as a)
                or item_id in (select k.usage_id from candidate_charges as k)
            )
        group by team_id, item_id
    ),

    previous_events as (
        select
            team_id,
            item_id as event_id,
            subscription_id,
            entry_ts as event_ts,
            tokens,
            pack_start_date,
            pack_end_date,
            pack_tokens_purchased
        from {{ this }}
        where entry_kind = 'event'
    ),

    changes as (
        -- a charge added, removed or changed: replay from the earlier of its instants
        select
            coalesce(c.team_id, p.team_id) as team_id,
            case
                when c.usage_id is null then p.charge_ts
                when p.usage_id is null or c.charge_ts < p.charge_ts then c.charge_ts
                else p.charge_ts
            end as changed_ts
        from compared_charges as c
        full outer join previous_charges as p
            on c.usage_id = p.usage_id and c.team_id = p.team_id
        where
            c.usage_id is null
            or p.usage_id is null
            or c.charge_ts <> p.charge_ts
            or c.usage_date <> p.usage_date
            or c.tokens <> p.tokens
        union all
        -- a token event added, removed or changed: likewise; a pack whose dates
        -- or size changed: replay the team from the start
        select
            coalesce(e.team_id, p.team_id) as team_id,
            case
                when e.event_id is null then p.event_ts
                when p.event_id is null then e.event_ts
                when
                    e.start_date is distinct from p.pack_start_date
                    or e.end_date is distinct from p.pack_end_date
                    or e.tokens_purchased is distinct from p.pack_tokens_purchased
                    then {{ dawn }}
                when e.event_ts < p.event_ts then e.event_ts
                else p.event_ts
            end as changed_ts
        from held_events as e
        full outer join previous_events as p
            on
                e.event_id = p.event_id
                and e.team_id = p.team_id
                and e.subscription_id = p.subscription_id
        where
            e.event_id is null
            or p.event_id is null
            or e.event_ts <> p.event_ts
            or e.tokens <> p.tokens
            or e.start_date is distinct from p.pack_start_date
            or e.end_date is distinct from p.pack_end_date
            or e.tokens_purchased is distinct from p.pack_tokens_purchased
    ),

    cuts as (
        select
            team_id,
            min(changed_ts) as cut_ts
        from changes
        group by team_id
    ),

    openings as (
        -- each pack's balance just before the cut (from the entries a changed team
        -- keeps), replayed as its first inflow
        select
            t.team_id,
            t.subscription_id,
            k.cut_ts as event_ts,
            '' as event_id,
            sum(case when t.entry_kind = 'event' then t.tokens else -t.tokens end) as tokens
        from {{ this }} as t
        inner join cuts as k
            on t.team_id = k.team_id
        where t.entry_ts < k.cut_ts and t.subscription_id is not null
        group by t.team_id, t.subscription_id, k.cut_ts
    ),
{% else %}
    cuts as (
        select
            team_id,
            {{ dawn }} as cut_ts
        from charges
        union
        select
            team_id,
            {{ dawn }} as cut_ts
        from held_events
    ),
{% endif %}

replayed_teams as (
    select
        team_id,
        row_number() over (order by team_id) as team_key
    from cuts
),

replayed_charges as (
    -- keyed by an integer per team (team_key): the drawdown levels sort and join on
    -- integers only, and the team's id does not travel through the charges' numbering
    select
        c.usage_id,
        c.usage_date,
        c.charge_ts,
        c.tokens,
        t.team_key
    from charges as c
    inner join cuts as k
        on c.team_id = k.team_id
    inner join replayed_teams as t
        on c.team_id = t.team_id
    where c.charge_ts >= k.cut_ts
),

replayed_events as (
    select e.*
    from held_events as e
    inner join cuts as k
        on e.team_id = k.team_id
    where e.event_ts >= k.cut_ts
),

replay_inflows as (
    select
        team_id,
        subscription_id,
        event_ts,
        event_id,
        tokens
    from replayed_events
    {% if is_incremental() %}
        union all
        select
            team_id,
            subscription_id,
            event_ts,
            event_id,
            tokens
        from openings
    {% endif %}
),

inflow_steps as (
    {{ bucket_inflow_steps('replay_inflows', ref('int_team_pack_ledger'), 'replayed_teams') }}
),

{{ drawdown_level_ctes('replayed_charges', 'inflow_steps', depth) }},

entries as (
    select
        team_id,
        'event' as entry_kind,
        event_id as item_id,
        subscription_id,
        event_ts as entry_ts,
        cast(null as date) as usage_date,
        tokens,
        start_date as pack_start_date,
        end_date as pack_end_date,
        tokens_purchased as pack_tokens_purchased,
        {{ this_build }} as built_seq
    from replayed_events
    union all
    select
        t.team_id,
        'draw' as entry_kind,
        c.usage_id as item_id,
        l.subscription_id,
        c.charge_ts as entry_ts,
        c.usage_date,
        d.tokens_drawn as tokens,
        cast(null as date) as pack_start_date,
        cast(null as date) as pack_end_date,
        cast(null as {{ dbt.type_bigint() }}) as pack_tokens_purchased,
        {{ this_build }} as built_seq
    from drawdown_draws as d
    inner join charge_ranks as c
        on d.team_key = c.team_key and d.charge_seq = c.charge_seq
    inner join replayed_teams as t
        on d.team_key = t.team_key
    inner join {{ ref('int_team_pack_ledger') }} as l
        on t.team_id = l.team_id and d.bucket_rank = l.bucket_rank
    union all
    select
        t.team_id,
        'unallocated' as entry_kind,
        c.usage_id as item_id,
        cast(null as {{ dbt.type_string() }}) as subscription_id,
        c.charge_ts as entry_ts,
        c.usage_date,
        d.tokens,
        cast(null as date) as pack_start_date,
        cast(null as date) as pack_end_date,
        cast(null as {{ dbt.type_bigint() }}) as pack_tokens_purchased,
        {{ this_build }} as built_seq
    from drawdown_unallocated as d
    inner join charge_ranks as c
        on d.team_key = c.team_key and d.charge_seq = c.charge_seq
    inner join replayed_teams as t
        on d.team_key = t.team_key
    {% if is_incremental() %}
        union all
        -- the cut of each replayed team: replace_from_cut deletes the team's entries
        -- from here on and does not insert this row
        select
            team_id,
            'cut' as entry_kind,
            cast(null as {{ dbt.type_string() }}) as item_id,
            cast(null as {{ dbt.type_string() }}) as subscription_id,
            cut_ts as entry_ts,
            cast(null as date) as usage_date,
            cast(null as {{ dbt.type_bigint() }}) as tokens,
            cast(null as date) as pack_start_date,
            cast(null as date) as pack_end_date,
            cast(null as {{ dbt.type_bigint() }}) as pack_tokens_purchased,
            {{ this_build }} as built_seq
        from cuts
    {% endif %}
)

select
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(entry_kind as {{ dbt.type_string() }}) as entry_kind,
    cast(item_id as {{ dbt.type_string() }}) as item_id,
    cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
    cast(entry_ts as {{ dbt.type_timestamp() }}) as entry_ts,
    cast(usage_date as date) as usage_date,
    cast(tokens as {{ dbt.type_bigint() }}) as tokens,
    cast(pack_start_date as date) as pack_start_date,
    cast(pack_end_date as date) as pack_end_date,
    cast(pack_tokens_purchased as {{ dbt.type_bigint() }}) as pack_tokens_purchased,
    cast(built_seq as {{ dbt.type_bigint() }}) as built_seq,
    cast((select u.seq from usage_build as u) as {{ dbt.type_bigint() }}) as built_usage_seq,
    {{ build_started_at() }} as built_at
from entries
