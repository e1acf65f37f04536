"""Gates and rewards (MODEL.md step 7): services denied, priced, or made cheaper.

"Every service attempt passes a gate rule of the active policy: deny, allow, or allow at a
price multiplier ... High tiers get rewards (cheaper, faster loans, deposit-free rentals). The
health gate: 'if the software determines that a body has not received its scheduled
pharmaceutical preparation, the wallet stays shut'."

Double-buffered on purpose: today's attempts (in behaviour) met the gates closed yesterday;
this step first settles today's priced uses at the prices in force, then recomputes which
services each citizen may use tomorrow from today's scores and lists (`state.denied`).

A price below 1 is a benefit received; a price above 1 ("your interest rates have doubled") is
a sanction suffered, as heavy as the price is above 1. Those who paid one are usually few, so
they go to attitudes as a list (`SURCHARGES`) rather than as a column of every citizen.

Reads: the day's columns, `used`. Writes: `denied`, the price book, `benefits`, `rewarded`,
the day's surcharges (tally `surcharges`).
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


SURCHARGES = "surcharges"  # tally key: (citizens in id order, price paid above 1, summed)
NO_SURCHARGES = (np.empty(0, np.int64), np.empty(0, np.float64))


def step(sim: Simulation) -> None:
    s, p, n = sim.state, sim.policy, sim.n
    book = sim.prices
    if not book:
        s.rewarded[:] = False
    else:
        services = np.array(book.services, np.int64)
        words = s.used[:n - n % 4].view(np.uint64)
        first, paid, payer = _settle(s.used, words, services, book.rules, book.factors,
                                     s.rewarded, s.benefits)
        for k, svc in enumerate(book.services):
            prices = paid[first[k]:first[k + 1]]  # the users in id order, as a mask would give
            sim.tally[f"price_{SERVICES[svc]}"] = float(prices.mean()) if prices.size else float("nan")
        sim.tally[SURCHARGES] = surcharges(paid, payer)
    if not p.enabled:
        s.denied[:] = 0
        book.clear()
        return
    env = sim.columns()
    gates = p.conditions.gates
    seen: dict[str, np.ndarray] = {}  # gates with the same condition (e.g. 'blacklisted') share it

    def who(condition: Condition) -> np.ndarray:
        if condition.text not in seen:
            seen[condition.text] = np.ascontiguousarray(condition(env, n))
        return seen[condition.text]

    # every condition, deny and price alike, reads yesterday's gates (wallet_frozen): the new
    # masks are written after all are evaluated; gates that share a condition close their
    # services together
    closed: dict[str, int] = {}
    for k, svc_bits in p.deny_gates:
        who(gates[k][1])
        closed[gates[k][1].text] = closed.get(gates[k][1].text, 0) | svc_bits
    rules = [gates[k][1] for k, _, _ in p.price_gates] + [p.conditions.rewards[k][1]
                                                          for k, _, _ in p.rewards] if book else []
    hits = tuple(who(condition) for condition in rules)
    _set_bits(tuple(seen[text] for text in closed), np.array(list(closed.values()), s.denied.dtype),
              s.denied)
    if book:
        book.set_policy(p)
        _set_bits(hits, np.array([1 << r for r in range(len(rules))], book.rules.dtype), book.rules)


def surcharges(paid: np.ndarray, payer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Who paid above the normal price today (ids in order, each once) and by how much in all:
    the sum over services of price - 1, in service order."""
    over = paid > 1
    if not over.any():
        return NO_SURCHARGES
    ids = payer[over].astype(np.int64)
    extra = paid[over].astype(np.float64) - 1.0
    order = np.argsort(ids, kind="stable")  # service by service, each in id order
    ids, extra = ids[order], extra[order]
    starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    return ids[starts], np.add.reduceat(extra, starts)


def _set_bits(masks: tuple[np.ndarray, ...], bits: np.ndarray, out: np.ndarray) -> None:
    """out[i] = the bits[k] of every mask k that holds for citizen i, or'ed together (0 for
    everyone when there are no masks: a phase without such rules clears the last one's)."""
    if masks:
        _or_masks(masks, bits, out)
    else:
        out[:] = 0


BLOCK = 4096  # citizens per block of `_or_masks`


@njit(parallel=True, cache=True)
def _or_masks(masks, bits, out):
    """`_set_bits` a block at a time: each mask read once, contiguously (no stacked copy)."""
    n = out.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        _or_block(b * BLOCK, min(n, (b + 1) * BLOCK), masks, bits, out)


# Functions of their own over a block, citizens indexed by an unsigned `j`: numba adds no
# negative-index wraparound and LLVM vectorises the loops (see behaviour._block).
@njit
def _or_block(first, end, masks, bits, out):
    for i in range(first, end):
        out[np.uint64(i)] = 0
    for k in range(len(masks)):
        mask = masks[k]
        bit = bits[k]
        for i in range(first, end):
            j = np.uint64(i)
            out[j] |= bit * np.uint8(mask[j])


CHUNK = 65536  # citizens per block of the settlement (fixed: the result does not depend on threads)


@njit(parallel=True, cache=True)
def _settle(used, words, services, rules, factors, rewarded, benefits):
    """Today's priced uses: the price each user of each priced service paid and who paid it
    (users in id order, service by service), and who paid a reward price (written for every
    citizen).

    Returns offsets into the arrays of paid prices and payers, service by service. Blocks of
    citizens count their users first, so each block then writes its users at known offsets, in
    parallel.
    """
    n = used.shape[0]
    m = services.shape[0]
    n_blocks = (n + CHUNK - 1) // CHUNK
    # np.empty, not np.zeros: numba would fill zeros in a parallel loop of their own (each one
    # wakes the threads)
    count = np.empty((n_blocks, m), np.int64)
    for b in prange(n_blocks):
        _count(b * CHUNK, min(n, (b + 1) * CHUNK), used, services, count[b])
    first = np.empty(m + 1, np.int64)
    first[0] = 0
    fill = np.empty((n_blocks, m), np.int64)
    for k in range(m):
        at = first[k]
        for b in range(n_blocks):
            fill[b, k] = at
            at += count[b, k]
        first[k + 1] = at
    paid = np.empty(first[m], np.float32)
    payer = np.empty(first[m], np.int32)  # citizen ids fit int32 (schema.MAX_POPULATION)
    for b in prange(n_blocks):
        _pay(b * CHUNK, min(n, (b + 1) * CHUNK), used, words, services, rules, factors, paid,
             payer, rewarded, benefits, fill[b])
    return first, paid, payer


@njit
def _count(first, end, used, services, count):
    """A block's users of each priced service (branch-free sums over the block: vectorised)."""
    for k in range(services.shape[0]):
        svc = services[k]
        c = 0
        for i in range(first, end):
            c += (used[np.uint64(i)] >> svc) & 1
        count[k] = c


@njit
def _pay(first, end, used, words, services, rules, factors, paid, payer, rewarded, benefits, at):
    """A block's users in id order: their prices written at `at` onwards (per service), and who
    paid a reward price. Users are few: `words` (`used`, 4 citizens a word) finds them a word
    at a time."""
    for i in range(first, end):
        rewarded[np.uint64(i)] = False
    mask = 0
    for k in range(services.shape[0]):
        mask |= 1 << services[k]
    mask4 = np.uint64(mask) * np.uint64(0x0001000100010001)
    w_end = min(end, words.shape[0] * 4) // 4
    for w in range(first // 4, w_end):
        if words[w] & mask4:
            for i in range(4 * w, 4 * w + 4):
                _use(i, used, services, mask, rules, factors, paid, payer, rewarded, benefits, at)
    for i in range(max(first, 4 * w_end), end):  # the last citizens, past the last whole word
        _use(i, used, services, mask, rules, factors, paid, payer, rewarded, benefits, at)


@njit(inline="always")
def _use(i, used, services, mask, rules, factors, paid, payer, rewarded, benefits, at):
    """Citizen i's priced uses, if any: prices paid and by whom, and a reward price recorded."""
    if used[i] & mask:
        reward = False
        for k in range(services.shape[0]):
            if (used[i] >> services[k]) & 1:
                price = price_of(rules[i], factors, k)
                paid[at[k]] = price
                payer[at[k]] = i
                at[k] += 1
                if price < 1:
                    reward = True
        if reward:
            rewarded[i] = True
            benefits[i] += 1
