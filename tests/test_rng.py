"""The counter-based random streams: exact, uniform, independent, and thread-proof.

What common random numbers and reproducibility rest on: a draw is a pure function of
(seed, day, stream, citizen); draws that differ in any one coordinate look independent; pair
draws are symmetric; and a run gives the same bits whatever the number of threads.
Statistical checks use fixed keys and a small significance level, so they are deterministic.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from numba import njit
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `validation/` lives at the repository root, beside `tests/`
    sys.path.insert(0, str(ROOT))

from validation import rngcheck  # noqa: E402
from validation.rngcheck import ALPHA  # noqa: E402

from scorestate import rng  # noqa: E402
from scorestate.vocabulary import EVENTS, SERVICES  # noqa: E402

SEED = 20240601
N = 1_000_000

# ------------------------------------------------------------------ exact values


M64 = (1 << 64) - 1
GOLDEN, M1, M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * M1) & M64
    z = ((z ^ (z >> 27)) * M2) & M64
    return z ^ (z >> 31)


def _key(seed: int, day: int, stream: int) -> int:
    k = _mix((seed * GOLDEN + 0x632BE59BD9B4E019) & M64)
    k = _mix(k ^ (((day + 1) * M1) & M64))
    return _mix(k ^ ((stream * M2) & M64))


def _uniform(seed: int, day: int, stream: int, citizen: int) -> float:
    return (_mix((_key(seed, day, stream) + (citizen + 1) * GOLDEN) & M64) >> 11) * 2.0**-53


def _pair(seed: int, day: int, stream: int, i: int, j: int) -> float:
    lo, hi = min(i, j), max(i, j)
    inner = _mix((_key(seed, day, stream) + (lo + 1) * GOLDEN) & M64)
    return (_mix((inner + (hi + 1) * M2) & M64) >> 11) * 2.0**-53


@pytest.mark.parametrize(("seed", "day", "stream"), [(0, 0, 1), (7, -1, rng.BUILD), (2**63 - 1, 364, 76),
                                                     (123456789, 99_999, rng.OBSERVE + 12)])
def test_draws_are_the_documented_splitmix64_construction(seed, day, stream):
    """A plain-Python SplitMix64 (Steele, Lea & Flood 2014) keyed as rng.py documents gives the
    same bits: the streams are a pure function of the key, on any machine, in any version."""
    citizens = np.array([0, 1, 2, 999, 2**31 - 1, 5 * 10**9], dtype=np.int64)
    got = rng.uniforms(seed, day, stream, citizens)
    assert got.tolist() == [_uniform(seed, day, stream, int(c)) for c in citizens]
    i, j = citizens[:3], citizens[3:]
    assert rng.uniforms_pair(seed, day, stream, i, j).tolist() == [
        _pair(seed, day, stream, int(a), int(b)) for a, b in zip(i, j, strict=True)]


def test_a_draw_does_not_depend_on_which_other_citizens_are_drawn():
    everyone = rngcheck.draws(SEED, 5, rng.DISSENT, 10_000)
    some = np.random.default_rng(0).permutation(10_000)[:777]
    assert np.array_equal(rng.uniforms(SEED, 5, rng.DISSENT, some), everyone[some])
    assert np.array_equal(rngcheck.draws(SEED, 5, rng.DISSENT, 10_000), everyone)  # same again


def test_draws_lie_in_the_unit_interval_on_a_53_bit_grid():
    u = rngcheck.draws(SEED, 0, rng.DOSE, N)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert np.array_equal(u * 2.0**53, np.floor(u * 2.0**53))


def test_named_streams_are_distinct_and_their_ranges_do_not_overlap():
    names = {k: v for k, v in vars(rng).items()
             if k.isupper() and not k.startswith("_") and isinstance(v, int)}
    spans = {k: 1 for k in names}
    spans["SERVICE_ATTEMPT"] = len(SERVICES)  # one stream per service
    spans["OBSERVE"] = len(EVENTS)  # one stream per event
    used: dict[int, str] = {}
    for name, first in names.items():
        for s in range(first, first + spans[name]):
            assert s not in used, f"stream {s} is both {used[s]} and {name}"
            used[s] = name


# ------------------------------------------------------------------ uniformity


@pytest.fixture(scope="module")
def draws() -> np.ndarray:
    return rngcheck.draws(SEED, 3, rng.ALCOHOL, N)


def test_uniform_kolmogorov_smirnov(draws):
    assert rngcheck.ks_uniform(draws) > ALPHA


def test_uniform_chi_square_1000_bins(draws):
    assert rngcheck.chi2_uniform(draws) > ALPHA


def test_every_bit_is_fair(draws):
    assert rngcheck.bits(draws) > ALPHA


def test_normals_are_standard_normal():
    assert stats.kstest(rng.normals(SEED, rng.BUILD, N), "norm").pvalue > ALPHA


@njit(cache=True)
def _below_many(seed, day, stream, n, count):
    key = rng.stream_key(seed, day, stream)
    out = np.empty(count, np.int64)
    for c in range(count):
        out[c] = rng.below(key, c, n)
    return out


@pytest.mark.parametrize("n", [1, 7, 1000])
def test_below_is_uniform_on_its_range(n):
    k = _below_many(SEED, 2, rng.TIE_CHURN_PICK, n, 200_000)
    assert k.min() >= 0 and k.max() <= n - 1
    if n > 1:
        assert stats.chisquare(np.bincount(k, minlength=n)).pvalue > ALPHA


# ------------------------------------------------------------------ independence


@pytest.mark.parametrize("neighbour", ["stream", "day", "seed"])
def test_neighbouring_keys_give_independent_draws(draws, neighbour):
    """Streams s and s+1, days d and d+1, seeds k and k+1: uncorrelated, and every cell of a
    32 x 32 grid of (u, v) equally filled (dependence a correlation would miss)."""
    seed, day, stream = SEED, 3, rng.ALCOHOL
    other = {"stream": (seed, day, stream + 1), "day": (seed, day + 1, stream),
             "seed": (seed + 1, day, stream)}[neighbour]
    v = rngcheck.draws(*other, N)
    assert rngcheck.correlation(draws, v) > ALPHA
    assert rngcheck.pairs(draws, v) > ALPHA


@pytest.mark.parametrize("lag", [1, 2, 64])
def test_neighbouring_citizens_are_independent(draws, lag):
    u, v = draws[:-lag], draws[lag:]
    assert rngcheck.correlation(u, v) > ALPHA
    assert rngcheck.pairs(u[::lag + 1], v[::lag + 1]) > ALPHA  # disjoint pairs for the chi-square


def test_a_citizens_days_are_independent():
    """One citizen over 2000 days (the sequence a citizen lives through), for 500 citizens."""
    days = np.stack([rngcheck.draws(SEED, d, rng.DISSENT, 500) for d in range(2000)])  # day x citizen
    assert rngcheck.ks_uniform(days.ravel()) > ALPHA
    assert rngcheck.correlation(days[:-1].ravel(), days[1:].ravel()) > ALPHA
    assert rngcheck.pairs(days[:-1:2].ravel(), days[1::2].ravel()) > ALPHA


# ------------------------------------------------------------------ pair draws


def test_pair_draws_are_symmetric():
    gen = np.random.default_rng(1)
    i = gen.integers(0, 10**7, 100_000)
    j = gen.integers(0, 10**7, 100_000)
    a = rng.uniforms_pair(SEED, 4, rng.TIE_SEEK, i, j)
    b = rng.uniforms_pair(SEED, 4, rng.TIE_SEEK, j, i)
    assert np.array_equal(a, b)


def test_pair_draws_are_uniform_and_independent():
    i = np.arange(N, dtype=np.int64)
    j = (i * 7919 + 1) % (4 * N)
    p = rng.uniforms_pair(SEED, 4, rng.TIE_SEEK, i, j)
    assert rngcheck.ks_uniform(p) > ALPHA
    assert rngcheck.pairs(p, rng.uniforms_pair(SEED, 4, rng.TIE_SEEK, i, j + 1)) > ALPHA  # (i,j), (i,j+1)
    assert rngcheck.pairs(p, rngcheck.draws(SEED, 4, rng.TIE_SEEK, N)) > ALPHA  # vs i's own draw
    assert rngcheck.correlation(p, rng.uniforms_pair(SEED, 4, rng.TIE_SEEK, i + 1, j)) > ALPHA


# ------------------------------------------------------------------ threads

_RUN = """
import hashlib, sys
import numba, polars as pl
import scorestate as ss
sc = ss.load_scenario("essay", population=int(sys.argv[1]), days=int(sys.argv[2]), seed=3)
r = ss.simulate(sc)
h = hashlib.sha256()
for frame in (r.metrics, r.group_metrics, r.ledger):
    for name in frame.columns:
        s = frame[name]
        h.update(name.encode())
        h.update(s.to_numpy().tobytes() if s.dtype.is_numeric() else "|".join(map(str, s)).encode())
print(numba.get_num_threads(), h.hexdigest())
"""


def _digests(threads: tuple[int, ...], population: int, days: int) -> list[tuple[int, str]]:
    """Run the same scenario in fresh processes (side by side), one per thread count."""
    import scorestate as ss

    # compile (and cache) every kernel here first, so the two processes load instead of compiling
    ss.simulate(ss.load_scenario("essay", population=300, days=32, seed=3))
    procs = [subprocess.Popen([sys.executable, "-c", _RUN, str(population), str(days)],
                              env={**os.environ, "NUMBA_NUM_THREADS": str(t)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for t in threads]
    out = []
    for p in procs:
        stdout, stderr = p.communicate()
        assert p.returncode == 0, stderr
        threads_used, digest = stdout.split()
        out.append((int(threads_used), digest))
    return out


def test_a_run_is_bit_identical_on_one_and_two_threads():
    """The essay past its second phase (association, misattribution, ties), in fresh processes;
    20,000 citizens span two chunks of the neighbour pass."""
    one, two = _digests((1, 2), 20_000, 35)
    assert (one[0], two[0]) == (1, 2)
    assert one[1] == two[1]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba was started with one thread")
def test_the_neighbour_pass_is_bit_identical_on_one_and_two_threads():
    import scorestate as ss
    from scorestate.engine import Simulation
    from scorestate.mechanisms import neighbours

    sim = Simulation(ss.load_scenario("essay", population=50_000, days=2, seed=4),
                     ledger_sink=lambda batch: None)
    gen = np.random.default_rng(5)
    s = sim.state
    s.score[:] = gen.uniform(0, 1300, sim.n)
    s.tier[:] = gen.integers(0, 6, sim.n)
    s.blacklisted[:] = gen.random(sim.n) < 0.1
    s.observed[:] = gen.integers(0, 2**13, sim.n)
    outputs = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            neighbours.step(sim)
            h = hashlib.sha256(np.asarray(sim.tally["edges"]).tobytes())
            for a in (s.nbr_blacklisted, s.nbr_low, s.nbr_penalised, s.nbr_score):
                h.update(a.tobytes())
            outputs.append(h.hexdigest())
    finally:
        numba.set_num_threads(before)
    assert outputs[0] == outputs[1]


@njit  # not cached: it must see the rng module as it is now
def _settled(bits, xs):
    """For each draw and logit: 1 sure yes, 0 sure no, -1 left open by `logit_bounds`."""
    out = np.empty((bits.shape[0], xs.shape[0]), np.int8)
    for a in range(bits.shape[0]):
        bounds = rng.logit_bounds(bits[a])
        for b in range(xs.shape[0]):
            yes, known = rng.settle_below_sigmoid(bounds, xs[b])
            out[a, b] = (1 if yes else 0) if known else -1
    return out


@njit  # not cached: it must see the rng module as it is now
def _exact(bits, xs):
    out = np.empty((bits.shape[0], xs.shape[0]), np.int8)
    for a in range(bits.shape[0]):
        u = float(bits[a] >> np.uint64(11)) * 2.0**-53
        for b in range(xs.shape[0]):
            out[a, b] = rng.below_sigmoid(u, xs[b])
    return out


def _cell_edges_and_random_bits() -> np.ndarray:
    """Draws at and next to every cell edge of the logit table, and random ones."""
    shift = 64 - rng._LOGIT_BITS
    edges = np.arange(2**rng._LOGIT_BITS, dtype=np.uint64) << np.uint64(shift)
    near = np.concatenate([edges, edges - np.uint64(1), edges + np.uint64(2048),
                           edges + (np.uint64(1) << np.uint64(shift)) - np.uint64(2049)])
    return np.concatenate([near, np.random.default_rng(5).integers(0, 2**64, 20_000, np.uint64,
                                                                    endpoint=False)])


def test_the_logit_table_never_contradicts_the_sigmoid_and_leaves_few_draws_open():
    """The vectorised behaviour loop decides `u < sigmoid(x)` from a table indexed by the draw;
    a wrong sure answer would change decisions (and break common random numbers silently)."""
    bits = _cell_edges_and_random_bits()
    cells = (np.arange(2**rng._LOGIT_BITS) + 0.5) / 2**rng._LOGIT_BITS
    xs = np.concatenate([np.log(cells) - np.log1p(-cells),  # logits at the cells' middles
                         np.random.default_rng(6).normal(0.0, 4.0, 300),
                         [-1e308, -745.0, -40.0, -36.7, 0.0, 36.7, 40.0, 745.0, 1e308,
                          -np.inf, np.inf, np.nan, 5e-324, -5e-324]])
    settled, exact = _settled(bits, xs), _exact(bits, xs)
    known = settled >= 0
    assert np.array_equal(settled[known], exact[known])
    # NaN is always left open and decided by the formula: never below it
    assert (settled[:, -3] == -1).all() and not exact[:, -3].any()
    # open: about one draw in 2**LOGIT_BITS for a logit drawn at random
    random_draws = slice(-20_000, None)
    open_share = (~known[random_draws, 2**rng._LOGIT_BITS:-14]).mean()
    assert open_share < 3.0 / 2**rng._LOGIT_BITS


def test_below_sigmoid_is_the_plain_formula():
    """The grid that spares `exp` in the exact decision gives the formula's answer."""
    g = np.random.default_rng(7)
    us = np.concatenate([g.random(3000), [0.0, 2.0**-53, 0.5, 1.0 - 2.0**-53]])
    xs = np.concatenate([g.normal(0.0, 6.0, 400), [-50.0, -40.0, 0.0, 40.0, 50.0]])
    got = _below_grid(us, xs)
    with np.errstate(over="ignore"):
        want = us[:, None] < 1.0 / (1.0 + np.exp(-xs[None, :]))
    assert np.array_equal(got, want)


@njit  # not cached: it must see the rng module as it is now
def _below_grid(us, xs):
    out = np.empty((us.shape[0], xs.shape[0]), np.bool_)
    for a in range(us.shape[0]):
        for b in range(xs.shape[0]):
            out[a, b] = rng.below_sigmoid(us[a], xs[b])
    return out
