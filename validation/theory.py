"""What theory predicts for the canonical experiments, computed independently of the engine.

- Watts (2002): a threshold model on a random graph with Poisson degrees (mean z). A citizen
  with k ties is *vulnerable* when one listed neighbour is enough (1/k >= phi). Global cascades
  are possible where the vulnerable citizens percolate: sum_k k(k-1) rho_k p_k > z (the cascade
  condition); a single seed starts one with the probability that it touches the giant
  vulnerable cluster (the extended vulnerable cluster, 1 - G0(u)); a global cascade's final
  size is the stable fixed point of the tree recursion of Gleeson & Cahalane (2007). The final
  set of a monotone threshold model does not depend on the update order, so all of this holds
  for the engine's synchronous days as for Watts' random-order updates.
- DeGroot (1974): x' = (1 - a) x + a W x with W the row-normalised adjacency converges, on a
  connected graph, to pi . x(0), pi the left unit eigenvector of W, proportional to degree.
- Granovetter (1978): the number of rioters is the first r where #{threshold <= r} == r.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import optimize, stats


def vulnerable_degree(phi: float) -> int:
    """The largest degree k at which one listed neighbour is enough (1/k >= phi)."""
    return math.floor(1.0 / phi + 1e-9)


def _poisson(z: float) -> tuple[np.ndarray, np.ndarray]:
    kmax = int(z + 10 * math.sqrt(z) + 15)  # the Poisson tail beyond is below 1e-15
    k = np.arange(kmax + 1)
    return k, stats.poisson.pmf(k, z)


def cascade_condition(z: float, phi: float) -> float:
    """sum_k k(k-1) rho_k p_k - z: positive where global cascades can occur (Watts 2002, eq. 5)."""
    k, p = _poisson(z)
    vulnerable = (k >= 1) & (k <= vulnerable_degree(phi))
    return float(np.sum(k * (k - 1) * p * vulnerable) - z)


def cascade_window(phi: float, z_max: float = 40.0) -> tuple[float, float] | None:
    """(lowest, highest) mean degree with global cascades for threshold phi; None if empty."""
    grid = np.linspace(0.05, z_max, 4000)
    sign = np.array([cascade_condition(z, phi) > 0 for z in grid])
    if not sign.any():
        return None
    first, last = int(np.argmax(sign)), int(len(sign) - 1 - np.argmax(sign[::-1]))
    lo = optimize.brentq(cascade_condition, grid[first - 1], grid[first], args=(phi,))
    hi = optimize.brentq(cascade_condition, grid[last], grid[last + 1], args=(phi,))
    return float(lo), float(hi)


def _first_fixed_point(g, lo: float, grid: int = 4001) -> float:
    """The smallest q >= lo with g(q) = q, for g increasing on [lo, 1] with g(1) <= 1: where
    iterating q <- g(q) from lo ends. `g` takes an array of q values (scanned, then refined)."""
    qs = np.linspace(lo, 1.0, grid)
    below = np.flatnonzero(g(qs) - qs <= 0)
    k = int(below[0]) if below.size else grid - 1
    if k == 0:
        return lo
    f = lambda q: float(g(np.array([q]))[0]) - q  # noqa: E731
    return float(optimize.brentq(f, qs[k - 1], qs[k], xtol=1e-14))


def cascade_frequency(z: float, phi: float) -> float:
    """Chance that one random seed starts a global cascade: the extended vulnerable cluster.

    u is the chance that a tie does not lead into the giant vulnerable cluster: the smallest
    solution of u = 1 - sum_k q_k rho_k (1 - u^(k-1)), where a node reached along a tie has
    degree k with probability q_k = k p_k / z = p_(k-1) (Poisson). A seed with k ties touches
    the cluster with probability 1 - u^k.
    """
    k, p = _poisson(z)
    kstar = vulnerable_degree(phi)
    q = np.concatenate([[0.0], p[:-1]])
    weight = q * ((k >= 1) & (k <= kstar))
    excess = np.maximum(k - 1, 0)

    def g(u: np.ndarray) -> np.ndarray:
        return 1.0 - (weight[None, :] * (1.0 - u[:, None] ** excess[None, :])).sum(axis=1)

    u = _first_fixed_point(g, 0.0)
    return max(0.0, float(1.0 - np.sum(p * u ** k)))


def _responds(k: np.ndarray, phi: float) -> np.ndarray:
    """F[k, m] = 1 when m listed neighbours of k reach the threshold (m / k >= phi), exactly."""
    f = Fraction(phi).limit_denominator(10_000)
    m = np.arange(k.shape[0])
    return (m[None, :] * f.denominator >= f.numerator * k[:, None]) & (k[:, None] > 0)


def cascade_size(z: float, phi: float, seed_fraction: float = 1e-9) -> float:
    """Final listed share of a global cascade started by a vanishing seed (Gleeson & Cahalane 2007).

    q, the chance that a neighbour reached along a tie ends up listed, is the first fixed point
    above the seed of q = s + (1 - s) sum_k (k p_k / z) sum_m Bin(m; k - 1, q) F(m, k).
    """
    k, p = _poisson(z)
    f = _responds(k, phi).astype(np.float64)
    m = np.arange(k.shape[0])
    reached = k * p / z

    def along(qs: np.ndarray) -> np.ndarray:
        b = stats.binom.pmf(m[None, None, :], np.maximum(k - 1, 0)[None, :, None], qs[:, None, None])
        b = b * (m[None, None, :] < np.maximum(k, 1)[None, :, None])
        return seed_fraction + (1 - seed_fraction) * ((b * f[None]).sum(axis=2) * reached).sum(axis=1)

    q = _first_fixed_point(along, seed_fraction, grid=401)
    whole = stats.binom.pmf(m[None, :], k[:, None], q) * f
    return float(seed_fraction + (1 - seed_fraction) * np.sum(p * whole.sum(axis=1)))


def degroot_limit(x0: np.ndarray, degree: np.ndarray) -> float:
    """The consensus pi . x(0) with pi proportional to degree (undirected graph)."""
    w = np.asarray(degree, np.float64)
    return float(w @ np.asarray(x0, np.float64) / w.sum())


def granovetter_rioters(thresholds: np.ndarray) -> int:
    """Rioters in equilibrium: each joins once at least `threshold` others riot."""
    t = np.sort(np.asarray(thresholds))
    r = 0
    while True:
        joined = int(np.searchsorted(t, r, side="right"))  # thresholds <= r
        if joined == r:
            return r
        r = joined


def granovetter_daily(thresholds: np.ndarray, days: int) -> np.ndarray:
    """Rioters after each day when everyone sees the start-of-day count (synchronous days)."""
    t = np.sort(np.asarray(thresholds))
    out = np.empty(days, np.int64)
    r = 0
    for d in range(days):
        r = int(np.searchsorted(t, r, side="right"))  # those with threshold <= yesterday's count
        out[d] = r
    return out
