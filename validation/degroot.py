"""DeGroot (1974) averaging through the engine's association scoring.

With `policy.association.averaging: a` and nothing else moving scores, the scoring step is
x' = (1 - a) x + a D^-1 A x (every citizen sees the start-of-day scores). On a connected
undirected graph the left eigenvector of D^-1 A for eigenvalue 1 is proportional to degree,
so scores converge to the degree-weighted mean of the initial scores, pi . x(0), and the
distance to it shrinks like rho^t, rho the second-largest eigenvalue modulus of the update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from scorestate.engine import Simulation
from scorestate.errors import ScorestateError
from scorestate.network import Graph, components
from scorestate.scenario.schema import Scenario
from validation import scenario as load
from validation import theory

FLOAT32_TOLERANCE = 4e-6  # relative: a few float32 ulps (2^-23 ~ 1.2e-7 each) of rounding per day


def averaging_scenario(*, population: int = 2000, mean_degree: float = 20.0, averaging: float = 0.5,
                       days: int = 300, seed: int = 0) -> Scenario:
    return load("degroot", {"network.mean_degree": mean_degree,
                            "policy.association.averaging": averaging},
                population=population, days=days, seed=seed)


@dataclass
class Averaging:
    target: float  # pi . x(0), the degree-weighted mean of the initial scores
    plain_mean: float  # the unweighted mean, which the scores must NOT converge to
    final_min: float
    final_max: float
    max_error: float  # max |x_i(T) - target|
    distance: np.ndarray  # max_i |x_i(t) - target| after each day
    exact: np.ndarray  # the same for x(t) = W^t x(0) computed in float64 outside the engine
    rate: float  # theoretical contraction per day (second-largest eigenvalue modulus)
    days: int
    n: int


def run(scenario: Scenario, graph: object | None = None) -> Averaging:
    """Run the averaging scenario (on `graph` if given) and compare with theory."""
    sim = Simulation(scenario, graph=graph, ledger_sink=lambda batch: None)
    g = sim.graph
    count, _largest = components(g.start, g.degree, g.nbrs)
    if count != 1:
        raise ScorestateError(f"DeGroot's limit needs a connected graph; this one has {count} components")
    x0 = sim.state.score.astype(np.float64).copy()
    target = theory.degroot_limit(x0, g.degree)
    a = scenario.policy.association.averaging
    adj, degree = _adjacency(g), g.degree.astype(np.float64)
    days = scenario.run.days
    distance, exact = np.empty(days), np.empty(days)
    xe = x0.copy()
    while sim.day < days:
        sim.step()
        distance[sim.day - 1] = float(np.abs(sim.state.score.astype(np.float64) - target).max())
        xe = (1 - a) * xe + a * (adj @ xe) / degree
        exact[sim.day - 1] = float(np.abs(xe - target).max())
    x = sim.state.score.astype(np.float64)
    return Averaging(target=target, plain_mean=float(x0.mean()), final_min=float(x.min()),
                     final_max=float(x.max()), max_error=float(np.abs(x - target).max()),
                     distance=distance, exact=exact, rate=contraction(adj, degree, a), days=days,
                     n=sim.n)


def _adjacency(g: Graph) -> sp.csr_matrix:
    e = g.edges()
    adj = sp.coo_matrix((np.ones(e.shape[0]), (e[:, 0], e[:, 1])), shape=(g.n, g.n)).tocsr()
    return (adj + adj.T).tocsr()


def contraction(adj: sp.csr_matrix, degree: np.ndarray, a: float) -> float:
    """Second-largest eigenvalue modulus of (1 - a) I + a D^-1 A (D^-1 A is similar to the
    symmetric D^-1/2 A D^-1/2, so its eigenvalues are real)."""
    inv = sp.diags(1.0 / np.sqrt(degree))
    sym = inv @ adj @ inv
    top = eigsh(sym, k=2, which="LA", return_eigenvectors=False)
    bottom = eigsh(sym, k=1, which="SA", return_eigenvectors=False)
    second = float(np.sort(top)[0])
    lowest = float(bottom[0])
    return max(abs(1 - a + a * second), abs(1 - a + a * lowest))
