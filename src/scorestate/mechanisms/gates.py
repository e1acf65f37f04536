"""Gates and rewards (MODEL.md step 7): services denied, priced, or made cheaper.

"Every service attempt passes a gate rule of the active policy: deny, allow, or allow at a
price multiplier ... High tiers get rewards (cheaper, faster loans, deposit-free rentals). The
health gate: 'if the software determines that a body has not received its scheduled
pharmaceutical preparation, the wallet stays shut'."

Double-buffered on purpose: today's attempts (in behaviour) met the gates closed yesterday;
this step first settles today's priced uses at the prices in force, then recomputes which
services each citizen may use tomorrow from today's scores and lists (`state.denied`).

Reads: the day's columns, `used`. Writes: `denied`, the price book, `benefits`, `rewarded`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from scorestate.pricebook import price_of
from scorestate.vocabulary import SERVICES

if TYPE_CHECKING:
    from scorestate.conditions import Condition
    from scorestate.engine import Simulation


def step(sim: Simulation) -> None:
    s, p, n = sim.state, sim.policy, sim.n
    book = sim.prices
    if not book:
        s.rewarded[:] = False
    else:
        services = np.array(book.services, np.int64)
        first, paid = _settle(s.used, services, book.rules, book.factors, s.rewarded, s.benefits)
        for k, svc in enumerate(book.services):
            prices = paid[first[k]:first[k + 1]]  # the users in id order, as a mask would give
            sim.tally[f"price_{SERVICES[svc]}"] = float(prices.mean()) if prices.size else float("nan")
    if not p.enabled:
        s.denied[:] = 0
        book.clear()
        return
    env = sim.columns()
    gates = p.conditions.gates
    seen: dict[str, np.ndarray] = {}  # gates with the same condition (e.g. 'blacklisted') share it

    def who(condition: Condition) -> np.ndarray:
        if condition.text not in seen:
            seen[condition.text] = condition(env, n)
        return seen[condition.text]

    # every deny condition reads yesterday's gates (wallet_frozen): the new mask is written after
    masks = [who(gates[k][1]) for k, _ in p.deny_gates]
    bits = np.array([b for _, b in p.deny_gates], np.int64)
    _deny(np.stack(masks) if masks else np.zeros((0, n), np.bool_), bits, s.denied)
    if book:
        book.clear()
        book.set_policy(p)
        rules = [gates[k][1] for k, _, _ in p.price_gates] + [p.conditions.rewards[k][1]
                                                              for k, _, _ in p.rewards]
        for r, condition in enumerate(rules):
            _mark(book.rules, who(condition), r)


@njit(parallel=True, cache=True)
def _deny(masks, bits, denied):
    """Each citizen's closed services: the bits of every deny gate whose condition holds."""
    for i in prange(denied.shape[0]):
        d = 0
        for k in range(masks.shape[0]):
            if masks[k, i]:
                d |= bits[k]
        denied[i] = d


@njit(parallel=True, cache=True)
def _mark(rules, hit, r):
    """Set rule bit `r` for the citizens its condition holds for."""
    bit = np.uint64(1) << np.uint64(r)
    for i in prange(rules.shape[0]):
        if hit[i]:
            rules[i] |= bit


CHUNK = 65536  # citizens per block of the settlement (fixed: the result does not depend on threads)


@njit(parallel=True, cache=True)
def _settle(used, services, rules, factors, rewarded, benefits):
    """Today's priced uses: the price each user of each priced service paid (users in id order,
    service by service), and who paid a reward price (written for every citizen).

    Returns offsets into one array of paid prices, service by service. Blocks of citizens count
    their users first, so each block then writes its users at known offsets, in parallel.
    """
    n = used.shape[0]
    m = services.shape[0]
    n_blocks = (n + CHUNK - 1) // CHUNK
    mask = 0
    for k in range(m):
        mask |= 1 << services[k]
    count = np.zeros((n_blocks, m), np.int64)
    for b in prange(n_blocks):
        for i in range(b * CHUNK, min(n, (b + 1) * CHUNK)):
            if used[i] & mask:
                for k in range(m):
                    count[b, k] += (used[i] >> services[k]) & 1
    first = np.zeros(m + 1, np.int64)
    fill = np.empty((n_blocks, m), np.int64)
    for k in range(m):
        at = first[k]
        for b in range(n_blocks):
            fill[b, k] = at
            at += count[b, k]
        first[k + 1] = at
    paid = np.empty(first[m], np.float32)
    for b in prange(n_blocks):
        for i in range(b * CHUNK, min(n, (b + 1) * CHUNK)):
            reward = False
            if used[i] & mask:
                for k in range(m):
                    if (used[i] >> services[k]) & 1:
                        price = price_of(rules[i], factors, k)
                        paid[fill[b, k]] = price
                        fill[b, k] += 1
                        if price < 1:
                            reward = True
            rewarded[i] = reward
            if reward:
                benefits[i] += 1
    return first, paid
