"""The run's ledger: every recorded event and decision, buffered and flushed in batches.

Retention decides who is recorded:
- `full`: every citizen's observed events, denials, score adjustments and decisions;
- `panel`: the same for a fixed random sample of `panel_size` citizens;
- `sanctions`: decisions only (tier changes, blacklist entries and exits, appeals), for all.

Rows are built with array operations per day and handed to a sink (the store's Parquet
writer, or memory) once `flush_rows` have accumulated; nothing is appended per event in Python.
For a recorded citizen, the points of its rows sum exactly to its score change: each day's
association penalty and averaging are one `association` row, what drift and clipping add one
`adjustment` row, so that a citizen's file can tell guilt by association from the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from scorestate.bits import popcount
from scorestate.mechanisms.surveillance import replay_sources
from scorestate.vocabulary import (
    EV_INFRACTION,
    EVENTS,
    KIND_INDEX,
    SERVICES,
    SRC_CAMERA,
    SRC_PLATFORM,
)

if TYPE_CHECKING:
    from scorestate.engine import Simulation

Batch = dict[str, np.ndarray]
COLUMNS = ("day", "citizen", "kind", "source", "points", "false_attribution", "actor", "value")
DTYPES = (np.int32, np.int32, np.int16, np.int8, np.float32, np.bool_, np.int32, np.int32)
N_EVENTS = len(EVENTS)


class Ledger:
    def __init__(self, n: int, retention: str, panel_size: int, seed: int,
                 sink: Callable[[Batch], None], flush_rows: int) -> None:
        self.retention = retention
        self.sink = sink
        self.flush_rows = flush_rows
        self.n = n
        recorded = np.zeros(n, np.bool_)
        if retention == "full":
            recorded[:] = True
        elif retention == "panel" and panel_size > 0:
            rng = np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, 3])))
            recorded[rng.permutation(n)[: min(panel_size, n)]] = True
        self.index = np.flatnonzero(recorded)  # the recorded citizens, in id order
        self._bits = np.packbits(recorded, bitorder="little")  # one bit per citizen
        self.decide_all = retention in ("full", "sanctions")
        self._parts: list[tuple[int, tuple[np.ndarray | float, ...]]] = []
        self._pending = 0
        self.rows = 0

    def records(self, citizens: np.ndarray) -> np.ndarray:
        """Whether each of `citizens` is recorded (read from a bit per citizen)."""
        citizens = np.asarray(citizens, np.int64)
        return ((self._bits[citizens >> 3] >> (citizens & 7)) & 1).astype(np.bool_)

    @property
    def recorded(self) -> np.ndarray:
        """Every citizen's flag, as a new boolean array."""
        return np.unpackbits(self._bits, count=self.n, bitorder="little").view(np.bool_)

    @property
    def nbytes(self) -> int:
        return int(self._bits.nbytes + self.index.nbytes)

    # ------------------------------------------------------------ rows of a day
    def _add(self, day: int, citizen: np.ndarray, kind: np.ndarray | int, source: np.ndarray | int = -1,
             points: np.ndarray | float = 0.0, false_attribution: np.ndarray | bool = False,
             actor: np.ndarray | int = -1, value: np.ndarray | int = -1) -> None:
        """Buffer m rows: arrays are copied now (the caller may reuse them), a value repeated for
        every row stays one value until the flush builds the columns."""
        m = citizen.shape[0]
        if m == 0:
            return
        values = (day, citizen, kind, source, points, false_attribution, actor, value)
        self._parts.append((m, tuple(v.astype(dt) if isinstance(v, np.ndarray) else v
                                     for v, dt in zip(values, DTYPES, strict=True))))
        self._pending += m

    def observations(self, sim: Simulation) -> None:
        """Observed acts and false attributions of recorded citizens (before misattribution)."""
        if self.index.size == 0:
            return
        s, c, p = sim.state, sim.citizens, sim.policy
        sources = replay_sources(sim.seed, sim.day, self.index, s.observed, c.urban, c.smart_home,
                                 p.coverage, p.observe, p.spec.surveillance.platform_hit_rate)
        cit, kind, src, false = _observation_rows(self.index, s.observed, s.falsely, sources)
        pts = sim.policy.points[sim.citizens.rank[cit], kind]
        actor = np.where(false, -1, cit)
        self._add(sim.day, cit, kind, src, pts, false, actor)

    def misattributions(self, sim: Simulation, victims: np.ndarray, actors: np.ndarray,
                        events: np.ndarray, points: np.ndarray) -> None:
        keep = self.records(victims) | self.records(actors)
        self._add(sim.day, victims[keep], events[keep], SRC_CAMERA, points[keep], True, actors[keep])

    def decisions(self, sim: Simulation, citizens: np.ndarray, kind: str,
                  value: np.ndarray | int = -1, points: np.ndarray | float = 0.0) -> None:
        citizens = np.asarray(citizens)
        if citizens.size == 0:
            return
        keep = slice(None) if self.decide_all else self.records(citizens)
        value = value[keep] if isinstance(value, np.ndarray) else value
        points = points[keep] if isinstance(points, np.ndarray) else points
        self._add(sim.day, citizens[keep], KIND_INDEX[kind], -1, points, False, -1, value)

    def denials(self, sim: Simulation) -> None:
        if self.index.size == 0:
            return
        d = sim.state.denied_today[self.index]
        some = np.flatnonzero(d)
        if some.size == 0:
            return
        d, who = d[some], self.index[some]
        # service by service, citizens in id order: the nonzeros of a (service, citizen) table
        svc, k = np.nonzero((d[None, :] >> _SERVICE_BITS[:, None]) & 1)
        self._add(sim.day, who[k], KIND_INDEX["denied"], value=svc)

    def score_snapshot(self, score: np.ndarray) -> np.ndarray:
        return score[self.index].copy()

    def score_adjustments(self, sim: Simulation, before: np.ndarray) -> None:
        """For each recorded citizen whose score moved by more than its events' points: the
        association's part of the move and the rest (drift and clipping), each a row when not 0.

        Both parts are computed as scoring computes them, from the same start-of-day neighbour
        aggregates. The float32 rounding of the new score goes with the association's row where
        there is one (a day without drift or clipping then has no `adjustment` row), else with
        the adjustment's."""
        if self.index.size == 0:
            return
        s, i = sim.state, self.index
        p, sc = sim.policy, sim.policy.spec.scoring
        old = before.astype(np.float64)
        points = s.points_today[i].astype(np.float64)
        residual = s.score[i].astype(np.float64) - old - points
        rest = residual
        if p.association_penalty != 0 or p.association_averaging != 0:
            degree = sim.graph.degree[i]
            share = np.divide(s.nbr_low[i], degree, out=np.zeros(i.size), where=degree > 0)
            association = (-p.association_penalty * share.astype(np.float32)
                           + p.association_averaging * (s.nbr_score[i].astype(np.float64) - old))
            drift = sc.drift * (sc.initial - old)
            x = old + points + association + drift
            tied = association != 0
            rest = np.where(tied, drift + (np.clip(x, sc.minimum, sc.maximum) - x), residual)
            tied &= residual != rest
            self._add(sim.day, i[tied], KIND_INDEX["association"], points=(residual - rest)[tied])
        moved = rest != 0
        self._add(sim.day, i[moved], KIND_INDEX["adjustment"], points=rest[moved])

    # ------------------------------------------------------------ batches
    def end_day(self) -> None:
        if self._pending >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if not self._parts:
            return
        batch = self.pending()
        self._parts.clear()
        self.rows += self._pending
        self._pending = 0
        self.sink(batch)

    def pending(self) -> Batch:
        """The rows buffered and not yet handed to the sink, as one batch (they stay buffered)."""
        return {name: _concat([p[1][c] for p in self._parts], [p[0] for p in self._parts], dt,
                              self._pending)
                for c, (name, dt) in enumerate(zip(COLUMNS, DTYPES, strict=True))}

    def restore(self, pending: Batch, rows: int) -> None:
        """Buffer again the rows a checkpoint held back, and count the `rows` handed on before
        it, so that batches are flushed on the days, and with the rows, they would have been."""
        m = len(pending["day"])
        self._parts = [(m, tuple(pending[name] for name in COLUMNS))] if m else []
        self._pending = m
        self.rows = rows


_SERVICE_BITS = np.arange(len(SERVICES), dtype=np.uint16)


def discard(batch: Batch) -> None:
    """A ledger sink that keeps nothing, for runs read through their daily metrics only (a
    comparison's replicates, a sweep's runs)."""


def _concat(values: list[np.ndarray | float], lengths: list[int], dtype: type, total: int) -> np.ndarray:
    """One column of the buffered parts: each an array of its rows or one value for all."""
    out = np.empty(total, dtype)
    at = 0
    for v, m in zip(values, lengths, strict=True):
        out[at:at + m] = v
        at += m
    return out


@njit(cache=True)
def _observation_rows(index, observed, falsely, sources):
    """Rows of observed acts (with `sources`, in citizen-event order) and false attributions."""
    total = 0
    for i in index:
        total += popcount(observed[i]) + popcount(falsely[i])
    cit = np.empty(total, np.int32)
    kind = np.empty(total, np.int16)
    src = np.empty(total, np.int8)
    false = np.empty(total, np.bool_)
    k = 0
    m = 0
    for i in index:
        o = observed[i]
        f = falsely[i]
        for e in range(N_EVENTS):
            if (o >> e) & 1:
                cit[k] = i
                kind[k] = e
                src[k] = sources[m]
                m += 1
                false[k] = False
                k += 1
            if (f >> e) & 1:
                cit[k] = i
                kind[k] = e
                src[k] = SRC_CAMERA if e == EV_INFRACTION else SRC_PLATFORM
                false[k] = True
                k += 1
    return cit, kind, src, false

