"""Counter-based random streams keyed by (seed, day, stream, citizen).

Why counter-based: a draw is a pure function of its key, so the same citizen meets the same
luck for the same decision in two scenarios (common random numbers), and results do not
depend on the order in which threads visit citizens. There is no generator state to carry,
split or ship to a worker.

The mixer is SplitMix64's finaliser (Steele, Lea & Flood 2014), which passes BigCrush when
driven by a Weyl sequence; here the Weyl sequence runs over citizens inside a key that is
itself the mix of (seed, day, stream). Pairwise draws key a second level by the smaller
citizen id, so draw(i, j) == draw(j, i).

Each mechanism owns named streams (the constants below); a new decision gets a new stream
number, never a reused one, so adding a mechanism does not change the luck of the others.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

# Named streams, one per decision. Numbers are permanent: append, never renumber.
DOSE = 1
HEALTH_PURCHASE = 2
ALCOHOL = 3
TOBACCO = 4
GAMING = 5
INFRACTION = 6
DISSENT = 7
DISSENT_CHANNEL = 8
VOLUNTEER = 9
APOLOGY = 10
DEBT_DEFAULT = 11
DEBT_REPAY = 12
SERVICE_ATTEMPT = 13  # + service index: 13..25
OBSERVE = 40  # + event index: 40..59
MISATTRIBUTE = 60
MISATTRIBUTE_TARGET = 61
FALSE_MATCH = 62
FALSE_POSITIVE = 63
APPEAL = 64
APPEAL_SUCCESS = 65
TIE_DROP = 70
TIE_DROP_PICK = 71
TIE_SEEK = 72
TIE_SEEK_PICK = 73
TIE_CHURN = 74
TIE_CHURN_PICK = 75
TIE_CHURN_NEW = 76
# 80 was LENIENCY_SEEN, never drawn from (leniency is seen as a deterministic weight): free.
# Streams used only when building the population and network (day = -1).
BUILD = 100


@njit(inline="always")
def mix64(z: uint64) -> uint64:
    """SplitMix64 finaliser: a bijective avalanche of 64 bits."""
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(inline="always")
def stream_key(seed: int, day: int, stream: int) -> uint64:
    """The key of one stream on one day; compute once per day and stream, outside loops."""
    k = mix64(uint64(seed) * _GOLDEN + uint64(0x632BE59BD9B4E019))
    k = mix64(k ^ (uint64(day + 1) * _M1))
    return mix64(k ^ (uint64(stream) * _M2))


@njit(inline="always")
def uniform(key: uint64, citizen: int) -> float:
    """The draw in [0, 1) of `citizen` in the stream whose key is `key`."""
    return float(mix64(key + uint64(citizen + 1) * _GOLDEN) >> uint64(11)) * _TO_UNIT


@njit(inline="always")
def uniform_pair(key: uint64, i: int, j: int) -> float:
    """A symmetric pairwise draw: the same for (i, j) and (j, i)."""
    lo = min(i, j)
    hi = max(i, j)
    inner = mix64(key + uint64(lo + 1) * _GOLDEN)
    return float(mix64(inner + uint64(hi + 1) * _M2) >> uint64(11)) * _TO_UNIT


@njit(inline="always")
def below(key: uint64, citizen: int, n: int) -> int:
    """A draw in {0, ..., n-1}; n must be positive."""
    return min(int(uniform(key, citizen) * n), n - 1)


# Deciding `u < 1 / (1 + exp(-x))` mostly without exp(): tables of the sigmoid at the grid
# x = SIG_MIN + k / SIG_SCALE, nudged outward, bracket the answer; a draw that falls inside a
# bracket (a share of about p(1 - p) / SIG_SCALE) pays for exp(). The answer is always the one
# the plain formula gives, so decisions and their common random numbers do not change.
SIG_MIN, SIG_SCALE, SIG_SIZE = -40.0, 8.0, 641


def _sigmoid_grid(shift: float, factor: float) -> np.ndarray:
    x = SIG_MIN + np.arange(round(-2 * SIG_MIN * SIG_SCALE) + 1) / SIG_SCALE + shift
    return (1.0 / (1.0 + np.exp(-x))) * factor


_SIG_BELOW = _sigmoid_grid(-1e-6, 1.0 - 1e-9)  # below the sigmoid anywhere in [x_k, x_k+1]
_SIG_ABOVE = _sigmoid_grid(1e-6, 1.0 + 1e-9)  # above it anywhere in [x_k-1, x_k]


@njit(inline="always")
def below_sigmoid(u: float, x: float) -> bool:
    """`u < 1 / (1 + exp(-x))` for a draw u in [0, 1), exactly as that formula decides it."""
    t = (x - SIG_MIN) * SIG_SCALE
    if t >= 0.0 and t < SIG_SIZE - 1:
        k = int(t)
        if u < _SIG_BELOW[k]:
            return True
        if u >= _SIG_ABOVE[k + 1]:
            return False
    elif t < 0.0:  # sigmoid below 4.3e-18: only u = 0 can be below it
        if u > 0.0:
            return False
    elif t >= SIG_SIZE - 1:  # the formula rounds to exactly 1, above every draw
        return True
    return u < 1.0 / (1.0 + np.exp(-x))


# The same question asked the other way round, for loops that vectorise: the draw's top
# _LOGIT_BITS bits place u in one of 2**_LOGIT_BITS equal cells, and the sigmoid is monotone, so
# a logit at or above the cell's YES bound puts the sigmoid above every u of the cell, one at
# or below its NO bound puts it at or below every u. Only a draw in the cell where sigmoid(x)
# falls (one in 2**_LOGIT_BITS) is left open, whatever x is, and one gather serves every logit
# compared with the same draw. Bounds are nudged outward (as the grid's above) and rounded
# outward to float32, so the answer is always the plain formula's.
_LOGIT_BITS = 11


def _logit_bounds() -> tuple[np.ndarray, np.ndarray]:
    cells = 2**_LOGIT_BITS
    lo = np.arange(cells) / cells * (1.0 - 1e-9)
    hi = np.minimum(np.arange(1, cells + 1) / cells * (1.0 + 1e-9), 1.0)
    with np.errstate(divide="ignore"):
        no = np.log(lo) - np.log1p(-lo) - 1e-6  # -inf in the first cell: never a sure no
        yes = np.log(hi) - np.log1p(-hi) + 1e-6  # +inf in the last: never a sure yes
    no32, yes32 = no.astype(np.float32), yes.astype(np.float32)
    no32 = np.where(no32 > no, np.nextafter(no32, np.float32(-np.inf)), no32)
    yes32 = np.where(yes32 < yes, np.nextafter(yes32, np.float32(np.inf)), yes32)
    return yes32, no32


_LOGIT_YES, _LOGIT_NO = _logit_bounds()
_LOGIT_SHIFT = uint64(64 - _LOGIT_BITS)


@njit(inline="always")
def logit_bounds(bits: uint64) -> tuple[float, float]:
    """(yes, no) for the draw made of `bits`: `below_sigmoid(u, x)` is True where x >= yes,
    False where x <= no, and open between (see `settle_below_sigmoid`)."""
    c = bits >> _LOGIT_SHIFT
    return float(_LOGIT_YES[c]), float(_LOGIT_NO[c])


@njit(inline="always")
def settle_below_sigmoid(bounds: tuple[float, float], x: float) -> tuple[bool, bool]:
    """`below_sigmoid(u, x)` from the draw's `logit_bounds` alone, without branches: (answer,
    known). NaN is left open (the formula decides it False)."""
    yes = x >= bounds[0]
    return yes, yes | (x <= bounds[1])


@njit(inline="always")
def draw_bits(key: uint64, citizen: int) -> uint64:
    """The mixed bits behind `uniform(key, citizen)`: the draw is their top 53 bits over 2**53."""
    return mix64(key + uint64(citizen + 1) * _GOLDEN)


@njit(inline="always")
def draw_bound(p: float) -> uint64:
    """The bound under which a draw's top 53 bits (`draw_bits >> 11`) mean `uniform < p`: one
    integer comparison, the same answer as the float one."""
    return uint64(np.ceil((min(p, 1.0) if p > 0.0 else 0.0) * 9007199254740992.0))


@njit(cache=True)
def uniforms(seed: int, day: int, stream: int, citizens: np.ndarray) -> np.ndarray:
    """Vectorised draws for the given citizens (used outside kernels and in tests)."""
    key = stream_key(seed, day, stream)
    out = np.empty(citizens.shape[0], np.float64)
    for k in range(citizens.shape[0]):
        out[k] = uniform(key, citizens[k])
    return out


@njit(cache=True)
def uniforms_pair(seed: int, day: int, stream: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Vectorised pairwise draws."""
    key = stream_key(seed, day, stream)
    out = np.empty(i.shape[0], np.float64)
    for k in range(i.shape[0]):
        out[k] = uniform_pair(key, i[k], j[k])
    return out


def normals(seed: int, stream: int, n: int, day: int = -1) -> np.ndarray:
    """Standard normal draws for citizens 0..n-1 by the inverse CDF of counter draws."""
    from scipy.special import ndtri

    u = uniforms(seed, day, stream, np.arange(n, dtype=np.int64))
    return ndtri(np.clip(u, 1e-12, 1 - 1e-12))
