"""Granovetter (1978): riot thresholds on a complete graph of 100 citizens.

Citizen i joins once at least t_i others have joined. With thresholds 0, 1, ..., 99 the
citizen with threshold 0 starts, the one with 1 follows the next day, and so on: everyone
riots. Change the threshold 1 to 2 and the first rioter stays alone.

The engine has no per-citizen threshold column, so the thresholds are written into
`conformity` (as threshold / 100) before day 0 and the entry rule of `granovetter.yaml`
compares the count of listed neighbours with conformity * 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from scorestate.engine import Simulation
from validation import scenario as load
from validation import theory

PEOPLE = 100


def uniform_thresholds() -> np.ndarray:
    """Granovetter's distribution: thresholds 0, 1, ..., 99."""
    return np.arange(PEOPLE)


def perturbed_thresholds() -> np.ndarray:
    """The same, with the threshold 1 changed to 2."""
    t = uniform_thresholds()
    t[t == 1] = 2
    return t


@dataclass
class Riot:
    rioters: int  # listed at the end
    predicted: int  # theory.granovetter_rioters
    daily: np.ndarray  # listed after each day


def run(thresholds: np.ndarray, *, days: int | None = None) -> Riot:
    """Run the riot scenario on a complete graph with these thresholds (one per citizen)."""
    thresholds = np.asarray(thresholds)
    scenario = load("granovetter", days=days)
    sim = Simulation(scenario, graph=nx.complete_graph(thresholds.shape[0]),
                     ledger_sink=lambda batch: None)
    sim.citizens.conformity[:] = thresholds / 100.0
    daily = np.empty(scenario.run.days, np.int64)
    while sim.day < scenario.run.days:
        sim.step()
        daily[sim.day - 1] = int(sim.state.blacklisted.sum())
    return Riot(rioters=int(daily[-1]), predicted=theory.granovetter_rioters(thresholds), daily=daily)
