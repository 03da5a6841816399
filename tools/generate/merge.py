"""The team merge: move the merged team's remaining pack balances to the surviving team."""

from __future__ import annotations

import numpy as np

from tools.generate.usage import UsageRows
from tools.generate.world import Event, World


def merge_events(world: World, rows: UsageRows) -> list[Event]:
    """merge_out/merge_in pairs at 00:00 of the merge day, one per pack with a balance left.

    `rows` are the merged team's charges (final tokens) before the merge day. Its ledger
    holds purchases only, so replaying the drawdown rule (charge order; packs active on
    the usage date by earliest end date, smallest size, subscription id) gives the balance
    each pack still holds.
    """
    packs = sorted(
        (i for i, p in enumerate(world.packs) if p.team == world.merged),
        key=lambda i: (world.packs[i].end, world.packs[i].tokens, world.packs[i].subscription_id),
    )
    balance = {i: world.packs[i].tokens for i in packs}
    order = np.lexsort((rows.ids, rows.seconds, rows.day))
    for day, tokens in zip(rows.day[order].tolist(), rows.tokens[order].tolist(), strict=True):
        usage_date = world.day_date(day)
        for i in packs:
            pack = world.packs[i]
            if tokens == 0:
                break
            if pack.purchase_day <= day and pack.start <= usage_date <= pack.end:
                drawn = min(tokens, balance[i])
                balance[i] -= drawn
                tokens -= drawn
    merge_date = world.day_date(world.merge_day)
    events = []
    for i in packs:
        pack = world.packs[i]
        if pack.start <= merge_date <= pack.end and balance[i] > 0:
            events.append(
                Event(world.merge_day, 0, world.merged, i, "merge_out", -balance[i], world.survivor)
            )
            events.append(
                Event(world.merge_day, 0, world.survivor, i, "merge_in", balance[i], world.merged)
            )
    return events
