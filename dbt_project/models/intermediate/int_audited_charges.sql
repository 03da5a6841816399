{#-
    The charges whose drawdown the latest build computed (every charge after a
    full build, the replayed ones after an incremental build), with the last
    pack each drew from and what it left unallocated. The drawdown audits
    check these charges; the kept ones were checked by the build that
    computed them.
-#}
with latest_build as (
    select max(built_seq) as seq
    from {{ ref('int_drawdown_entries') }}
)

select
    e.item_id as usage_id,
    e.team_id,
    max(e.usage_date) as usage_date,
    max(e.entry_ts) as charge_ts,
    max(l.bucket_rank) as reach_rank,
    sum(case when e.entry_kind = 'unallocated' then e.tokens else 0 end) as unallocated_tokens
from {{ ref('int_drawdown_entries') }} as e
left join {{ ref('int_team_pack_ledger') }} as l
    on e.team_id = l.team_id and e.subscription_id = l.subscription_id
where
    e.entry_kind <> 'event'
    and e.built_seq = (select b.seq from latest_build as b)
group by e.item_id, e.team_id
