"""Gates and rewards (MODEL.md step 7): services denied, priced, or made cheaper.

"Every service attempt passes a gate rule of the active policy: deny, allow, or allow at a
price multiplier ... High tiers get rewards (cheaper, faster loans, deposit-free rentals). The
health gate: 'if the software determines that a body has not received its scheduled
pharmaceutical preparation, the wallet stays shut'."

Double-buffered on purpose: today's attempts (in behaviour) met the gates closed yesterday;
this step first settles today's priced uses at the prices in force, then recomputes which
services each citizen may use tomorrow from today's scores and lists (`state.denied`).

Reads: the day's columns, `used`. Writes: `denied`, the price arrays, `benefits`, `rewarded`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scorestate.vocabulary import SERVICES

if TYPE_CHECKING:
    from scorestate.engine import Simulation


def step(sim: Simulation) -> None:
    s, p, n = sim.state, sim.policy, sim.n
    s.rewarded[:] = False
    for svc, price in sim.prices.items():
        used = (s.used & np.uint16(1 << svc)) != 0
        paid = price[used]
        sim.tally[f"price_{SERVICES[svc]}"] = float(paid.mean()) if paid.size else float("nan")
        s.rewarded |= used & (price < 1)
    s.benefits += s.rewarded
    if not p.enabled:
        s.denied[:] = 0
        for price in sim.prices.values():
            price[:] = 1
        return
    env = sim.columns()
    gates = p.conditions.gates
    denied = np.zeros(n, np.uint16)
    for k, bits in p.deny_gates:
        denied[gates[k][1](env, n)] |= np.uint16(bits)
    s.denied[:] = denied
    for price in sim.prices.values():
        price[:] = 1
    for table, rules in ((gates, p.price_gates), (p.conditions.rewards, p.rewards)):
        for k, services, multiplier in rules:
            hit = table[k][1](env, n)
            for svc in services:
                sim.prices[svc][hit] *= np.float32(multiplier)
