"""The social network: generation, import, and an adjacency that ties can change in place.

Adjacency is CSR with spare room: citizen i's neighbours live in `nbrs[start[i]:start[i] +
degree[i]]`, and the slots up to `start[i + 1]` are free. Dropping a tie swaps the last
neighbour into its slot; making one uses a free slot on both sides (a citizen whose slots are
full cannot make new ties that day). Nothing is rebuilt when a tie changes.

The generator is homophilous by region and by stratum (settlement x education): citizens are
numbered in those blocks, so an in-stratum partner is a random index inside a block.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from scorestate.errors import ScorestateError
from scorestate.scenario.schema import Network as NetworkSpec


@dataclass
class Graph:
    start: np.ndarray  # int64[n + 1] first slot of each citizen
    degree: np.ndarray  # int32[n] ties in use
    nbrs: np.ndarray  # int32[slots] neighbour ids

    @property
    def n(self) -> int:
        return int(self.degree.shape[0])

    def edges(self) -> np.ndarray:
        """Undirected ties as an (m, 2) array with i < j."""
        src = np.repeat(np.arange(self.n, dtype=np.int64), self.degree)
        mask = _used_slots(self.start, self.degree, self.nbrs.shape[0])
        dst = self.nbrs[mask].astype(np.int64)
        keep = src < dst
        return np.stack([src[keep], dst[keep]], axis=1)

    def nbytes(self) -> int:
        return self.start.nbytes + self.degree.nbytes + self.nbrs.nbytes


def _used_slots(start: np.ndarray, degree: np.ndarray, slots: int) -> np.ndarray:
    mask = np.zeros(slots, np.bool_)
    idx = np.repeat(start[:-1], degree) + (
        np.arange(degree.sum()) - np.repeat(np.cumsum(degree) - degree, degree))
    mask[idx] = True
    return mask


def from_edges(n: int, edges: np.ndarray, slack: float) -> Graph:
    """CSR with spare slots from (m, 2) undirected edges; drops self-loops and duplicates."""
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    e = e[e[:, 0] != e[:, 1]]
    lo, hi = np.minimum(e[:, 0], e[:, 1]), np.maximum(e[:, 0], e[:, 1])
    key = np.unique(lo * n + hi)
    lo, hi = key // n, key % n
    src = np.concatenate([lo, hi])
    dst = np.concatenate([hi, lo])
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    degree = np.bincount(src, minlength=n).astype(np.int32)
    capacity = degree + np.maximum(2, np.ceil(slack * degree)).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(capacity)]).astype(np.int64)
    nbrs = np.full(int(start[-1]), -1, np.int32)
    offset = np.arange(src.shape[0]) - np.repeat(np.cumsum(degree) - degree, degree)
    nbrs[start[src] + offset] = dst
    return Graph(start=start, degree=degree, nbrs=nbrs)


def homophilous(spec: NetworkSpec, region_start: np.ndarray, stratum: np.ndarray,
                seed: int) -> Graph:
    """Random ties: within region (and within stratum) with the spec's shares, else anywhere.

    `stratum` is a per-citizen key that is sorted within each region, so a stratum is a
    contiguous block of citizen ids.
    """
    n = stratum.shape[0]
    rng = np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, 2])))
    m = round(n * spec.mean_degree / 2 * 1.02)  # a little extra for dropped duplicates
    i = rng.integers(0, n, m)
    region = np.searchsorted(region_start, i, side="right") - 1
    block_key = stratum.astype(np.int64)
    boundaries = np.flatnonzero(np.diff(block_key)) + 1
    block_start = np.concatenate([[0], boundaries])
    block_end = np.concatenate([boundaries, [n]])
    block = np.searchsorted(block_start, i, side="right") - 1
    u = rng.random(m)
    kind = rng.random(m)
    in_region = kind < spec.within_region
    in_stratum = in_region & (rng.random(m) < spec.same_stratum)
    lo = np.where(in_stratum, block_start[block], np.where(in_region, region_start[region], 0))
    hi = np.where(in_stratum, block_end[block], np.where(in_region, region_start[region + 1], n))
    j = lo + np.minimum((u * (hi - lo)).astype(np.int64), hi - lo - 1)
    return from_edges(n, np.stack([i, j], axis=1), spec.slack)


def read_edgelist(path: str | Path) -> np.ndarray:
    """Two integer columns from CSV or Parquet, as an (m, 2) int64 array."""
    import polars as pl

    p = Path(path)
    if not p.is_file():
        raise ScorestateError(f"network.edgelist: the file '{p}' does not exist; expected a CSV or "
                              "Parquet file with two integer columns (one tie per row)")
    try:
        if p.suffix.lower() in {".parquet", ".pq"}:
            frame = pl.read_parquet(p)
        else:
            frame = pl.read_csv(p, has_header=_has_header(p), comment_prefix="#")
    except Exception as e:  # polars raises many types for malformed files
        raise ScorestateError(f"network.edgelist: '{p}' could not be read ({e.__class__.__name__}); "
                              "expected CSV or Parquet with two integer columns") from None
    if frame.width < 2 or not all(frame.dtypes[k].is_integer() for k in range(2)):
        raise ScorestateError(f"network.edgelist: '{p}' must have two integer columns (citizen ids); "
                              f"got columns {frame.columns} of types {[str(t) for t in frame.dtypes]}")
    return frame.select(frame.columns[:2]).to_numpy().astype(np.int64)


def _has_header(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                first = line.replace(",", " ").split()[0]
                return not first.lstrip("-").isdigit()
    return False


def relabel(edges: np.ndarray) -> tuple[int, np.ndarray]:
    """Map arbitrary ids to 0..n-1 in sorted order; returns (n, edges)."""
    ids, inverse = np.unique(edges, return_inverse=True)
    return int(ids.shape[0]), inverse.reshape(-1, 2).astype(np.int64)


def from_networkx(graph: object) -> tuple[int, np.ndarray]:
    """(n, edges) of a networkx graph, nodes relabelled 0..n-1 in the graph's node order."""
    import networkx as nx

    if not isinstance(graph, nx.Graph):
        raise ScorestateError(f"expected a networkx graph; got {type(graph).__name__}")
    index = {node: k for k, node in enumerate(graph.nodes())}
    edges = np.array([(index[a], index[b]) for a, b in graph.edges()], dtype=np.int64)
    return len(index), edges.reshape(-1, 2)


@njit(cache=True)
def has_tie(start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray, i: int, j: int) -> bool:
    s = start[i]
    for k in range(s, s + degree[i]):  # noqa: SIM110 - a plain loop compiles in numba
        if nbrs[k] == j:
            return True
    return False


@njit(cache=True)
def _remove_one(start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray, i: int, j: int) -> None:
    s = start[i]
    last = s + degree[i] - 1
    for k in range(s, last + 1):
        if nbrs[k] == j:
            nbrs[k] = nbrs[last]
            nbrs[last] = -1
            degree[i] -= 1
            return


@njit(cache=True)
def drop_tie(start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray, i: int, j: int) -> None:
    _remove_one(start, degree, nbrs, i, j)
    _remove_one(start, degree, nbrs, j, i)


@njit(cache=True)
def add_tie(start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray, i: int, j: int) -> bool:
    """Tie i and j if both have a free slot and they are not tied; True when made."""
    if i == j:
        return False
    if start[i] + degree[i] >= start[i + 1] or start[j] + degree[j] >= start[j + 1]:
        return False
    if has_tie(start, degree, nbrs, i, j):
        return False
    nbrs[start[i] + degree[i]] = j
    degree[i] += 1
    nbrs[start[j] + degree[j]] = i
    degree[j] += 1
    return True


@njit(cache=True)
def components(start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray) -> tuple[int, int]:
    """(number of connected components, size of the largest), by union-find over the ties."""
    n = degree.shape[0]
    parent = np.arange(n)
    for i in range(n):
        for k in range(start[i], start[i] + degree[i]):
            a = i
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            b = nbrs[k]
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            if a != b:
                if a < b:
                    parent[b] = a
                else:
                    parent[a] = b
    size = np.zeros(n, np.int64)
    count = 0
    for i in range(n):
        a = i
        while parent[a] != a:
            a = parent[a]
        size[a] += 1
        if a == i:
            count += 1
    return count, size.max()
