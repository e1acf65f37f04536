"""Per-citizen prices of the priced services, held as one small rule mask per citizen.

A citizen's price for a service is the product of the multipliers of the price gates and
rewards whose conditions it meets, so the set of rules that hit it says everything: one bit per
rule (a byte for up to eight rules) instead of a float per citizen and priced service. Prices
are computed from the bits when read, multiplying in rule order in float32, exactly as applying
each rule's multiplier to a price array in turn would.

The mask refers to the rules of the policy that wrote it (the gates step, for tomorrow); the
book keeps that policy's factors next to it, so a phase change the next morning cannot mix the
mask of one policy with the rules of another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from scorestate.errors import ScorestateError

if TYPE_CHECKING:
    from scorestate.policy import CompiledPolicy

MAX_RULES = 64


class PriceBook(Mapping[int, np.ndarray]):
    """Service index -> each citizen's price multiplier (float32), computed on demand."""

    def __init__(self, n: int, services: tuple[int, ...], max_rules: int) -> None:
        if max_rules > MAX_RULES:
            raise ScorestateError(f"a phase has {max_rules} price gates and rewards together; "
                                  f"expected at most {MAX_RULES}")
        self.services = services
        dtype = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64)
                     if np.iinfo(t).bits >= max_rules)
        self.rules = np.zeros(n, dtype)  # bit r: the citizen meets price rule r
        self.factors = np.ones((0, len(services)), np.float32)  # [rule, service]: 1 where not priced
        self._policy: CompiledPolicy | None = None  # whose rules the factors are

    def set_policy(self, policy: CompiledPolicy) -> None:
        """Use `policy`'s rules (gates first, then rewards) for the masks written next."""
        if policy is self._policy:
            return
        self._policy = policy
        column = {svc: k for k, svc in enumerate(self.services)}
        rules = policy.price_gates + policy.rewards
        factors = np.ones((len(rules), len(self.services)), np.float32)
        for r, (_, services, multiplier) in enumerate(rules):
            for svc in services:
                factors[r, column[svc]] = np.float32(multiplier)
        self.factors = factors

    def clear(self) -> None:
        """Everyone pays the plain price."""
        self.rules[:] = 0

    def __getitem__(self, service: int) -> np.ndarray:
        if service not in self.services:
            raise KeyError(service)
        return _prices(self.rules, self.factors, self.services.index(service))

    def __iter__(self) -> Iterator[int]:
        return iter(self.services)

    def __len__(self) -> int:
        return len(self.services)

    @property
    def nbytes(self) -> int:
        return int(self.rules.nbytes)


@njit(inline="always")
def price_of(mask, factors, k):
    """The price of service column `k` for a citizen whose rule bits are `mask`."""
    price = np.float32(1.0)
    r = 0
    while mask:
        if mask & 1:  # a rule that does not price this service has factor 1 (exact)
            price *= factors[r, k]
        mask >>= 1
        r += 1
    return price


@njit(parallel=True, cache=True)
def _prices(rules, factors, k):
    out = np.empty(rules.shape[0], np.float32)
    for i in prange(rules.shape[0]):
        out[i] = price_of(rules[i], factors, k)
    return out
