"""The social network: generation, import, and an adjacency that ties can change in place.

Adjacency is CSR with spare room: citizen i's neighbours live in `nbrs[start[i]:start[i] +
degree[i]]`, and the slots up to `start[i + 1]` are free. Dropping a tie swaps the last
neighbour into its slot; making one uses a free slot on both sides (a citizen whose slots are
full cannot make new ties that day). Nothing is rebuilt when a tie changes.

The generator is homophilous by region and by stratum (settlement x education): citizens are
numbered in those blocks, so an in-stratum partner is a random index inside a block.
"""

from __future__ import annotations

import hashlib
import numbers
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from scorestate.errors import ScorestateError
from scorestate.scenario.schema import MAX_POPULATION
from scorestate.scenario.schema import Network as NetworkSpec
from scorestate.state import Preallocated


@dataclass
class Graph(Preallocated):
    start: np.ndarray  # int32[n + 1] first slot of each citizen (int64 beyond 2^31 - 1 slots)
    degree: np.ndarray  # uint16[n] ties in use (int32 where a row has more than 65,535 slots)
    nbrs: np.ndarray  # int32[slots] neighbour ids

    @property
    def n(self) -> int:
        return int(self.degree.shape[0])

    def edges(self) -> np.ndarray:
        """Undirected ties as an (m, 2) array with i < j."""
        src = np.repeat(np.arange(self.n, dtype=np.int64), self.degree)
        mask = used_slots(self.start, self.degree, self.nbrs.shape[0])
        dst = self.nbrs[mask].astype(np.int64)
        keep = src < dst
        return np.stack([src[keep], dst[keep]], axis=1)

    def nbytes(self) -> int:
        return self.start.nbytes + self.degree.nbytes + self.nbrs.nbytes

    def widest_row(self) -> int:
        """Slots in the longest row: the most ties a citizen can hold (sizes neighbour counts)."""
        return int(np.diff(self.start).max(initial=0))

    def tie_fault(self) -> str | None:
        """What breaks the rules of an undirected network without self-loops or double ties (a
        tie to oneself, a tie held twice, a tie not held back), for the first citizen it finds;
        None when nothing does. The rows and ids must be in bounds (`checkpoint._check_graph`).
        By sorting, not a Python set of ties: checking invariants costs a fraction of a day."""
        n = self.n
        src = np.repeat(np.arange(n, dtype=np.int64), self.degree)
        dst = self.nbrs[used_slots(self.start, self.degree, self.nbrs.shape[0])].astype(np.int64)
        loop = src == dst
        if loop.any():
            return f"citizen {int(src[loop.argmax()])} is tied to itself"
        ties = np.sort(src * n + dst)  # n < 2^31, so the codes fit
        twice = ties[1:] == ties[:-1]
        if twice.any():
            i, j = divmod(int(ties[twice.argmax()]), n)
            return f"citizen {i} is tied to citizen {j} twice"
        back = np.sort(dst * n + src)
        if not np.array_equal(ties, back):  # the smaller code where they part is missing in the other
            k = (ties != back).argmax()
            i, j = divmod(int(ties[k]), n) if ties[k] < back[k] else divmod(int(back[k]), n)[::-1]
            return f"the adjacency is not symmetric: citizen {i} is tied to {j}, but {j} not to {i}"
        return None


def used_slots(start: np.ndarray, degree: np.ndarray, slots: int) -> np.ndarray:
    """A mask of the slots that hold ties (the rest are a row's spare room)."""
    mask = np.zeros(slots, np.bool_)
    degree = degree.astype(np.int64)  # unsigned sums would mix with signed ids into floats
    idx = np.repeat(start[:-1].astype(np.int64), degree) + (
        np.arange(degree.sum()) - np.repeat(np.cumsum(degree) - degree, degree))
    mask[idx] = True
    return mask


def from_edges(n: int, edges: np.ndarray, slack: float) -> Graph:
    """CSR with spare slots from (m, 2) undirected edges; drops self-loops and duplicates.

    Each citizen's neighbours are sorted by id; a citizen with degree d gets d + max(2,
    ceil(slack * d)) slots.
    """
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return _csr(n, [e[:, 0], e[:, 1]], slack)


def _csr(n: int, ends: list[np.ndarray], slack: float) -> Graph:
    """The adjacency of the ties (ends[0][k], ends[1][k]); takes the ends out of the list, so
    the memory of a list that held the only references is freed once the ties are bucketed.

    The buckets become the adjacency in place (squeezed, resized, spread out with the spare
    slots): the build never holds both, which was its peak of memory.
    """
    raw_start, raw = _bucket(n, ends.pop(0), ends.pop(0))
    degree = _sort_unique_rows(raw_start, raw)
    _squeeze(raw_start, raw, degree)
    del raw_start
    start = _slot_starts(degree, slack)
    raw.resize(int(start[-1]), refcheck=False)  # realloc: remaps large blocks, copies nothing
    _spread(start, degree, raw)
    nbrs = raw
    if start[-1] <= np.iinfo(np.int32).max:  # 4 bytes per citizen saved below 2^31 slots
        start = start.astype(np.int32)
    if np.diff(start).max(initial=0) <= np.iinfo(np.uint16).max:  # no row can outgrow its slots
        degree = degree.astype(np.uint16)
    return Graph(start=start, degree=degree, nbrs=nbrs)


def _bucket(n: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both directions of every tie but self-loops, bucketed by citizen (counting sort). The
    buckets are allocated here, by numpy, so that `_csr` may resize them."""
    count = _bucket_starts(n, a, b)
    raw = np.empty(count[n], np.int32)
    _bucket_fill(a, b, count, raw)
    return count, raw


@njit(cache=True)
def _bucket_starts(n, a, b):
    count = np.zeros(n + 1, np.int64)
    for k in range(a.shape[0]):
        if a[k] != b[k]:
            count[a[k] + 1] += 1
            count[b[k] + 1] += 1
    for i in range(n):
        count[i + 1] += count[i]
    return count


@njit(cache=True)
def _bucket_fill(a, b, count, raw):
    """Fill the buckets, each row's start in `count` serving as its cursor (so it ends at the
    next row's start) and shifted back afterwards: no second array of cursors."""
    for k in range(a.shape[0]):
        i, j = a[k], b[k]
        if i != j:
            raw[count[i]] = j
            count[i] += 1
            raw[count[j]] = i
            count[j] += 1
    for i in range(count.shape[0] - 2, 0, -1):
        count[i] = count[i - 1]
    count[0] = 0


@njit(parallel=True, cache=True)
def _sort_unique_rows(raw_start, raw):
    """Sort each citizen's bucket and squeeze out duplicates in place; returns the degrees."""
    n = raw_start.shape[0] - 1
    degree = np.empty(n, np.int32)
    for i in prange(n):
        lo, hi = raw_start[i], raw_start[i + 1]
        if hi - lo > 32:
            raw[lo:hi] = np.sort(raw[lo:hi])
        else:
            for k in range(lo + 1, hi):  # insertion sort: rows are short
                v = raw[k]
                m = k - 1
                while m >= lo and raw[m] > v:
                    raw[m + 1] = raw[m]
                    m -= 1
                raw[m + 1] = v
        d = 0
        for k in range(lo, hi):
            if d == 0 or raw[lo + d - 1] != raw[k]:
                raw[lo + d] = raw[k]
                d += 1
        degree[i] = d
    return degree


@njit(cache=True)
def _squeeze(raw_start, raw, degree):
    """Close the gaps that duplicates left: row after row to the front (never past unread data)."""
    at = 0
    for i in range(degree.shape[0]):
        lo = raw_start[i]
        for k in range(degree[i]):
            raw[at + k] = raw[lo + k]
        at += degree[i]


@njit(cache=True)
def _slot_starts(degree, slack):
    """Where each row starts once a row of degree d has d + max(2, ceil(slack * d)) slots."""
    n = degree.shape[0]
    start = np.empty(n + 1, np.int64)
    start[0] = 0
    for i in range(n):
        d = degree[i]
        start[i + 1] = start[i] + d + max(2, np.int64(np.ceil(slack * d)))
    return start


@njit(cache=True)
def _spread(start, degree, nbrs):
    """Move the squeezed rows to their slots, last row first and each from its end (a row only
    moves back, past rows already moved), and mark the spare slots -1."""
    at = 0
    for i in range(degree.shape[0]):
        at += degree[i]
    for i in range(degree.shape[0] - 1, -1, -1):
        d = degree[i]
        at -= d
        lo = start[i]
        for k in range(d - 1, -1, -1):
            nbrs[lo + k] = nbrs[at + k]
        for k in range(lo + d, start[i + 1]):
            nbrs[k] = -1


def homophilous(spec: NetworkSpec, region_start: np.ndarray, stratum: np.ndarray,
                seed: int) -> Graph:
    """Random ties: within region (and within stratum) with the spec's shares, else anywhere.

    `stratum` is a per-citizen key that is sorted within each region, so a stratum is a
    contiguous block of citizen ids. Each tie starts at a uniform citizen i; its other end is
    uniform inside i's stratum block, i's region, or the whole population.
    """
    n = stratum.shape[0]
    rng = np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, 2])))
    m = ties_to_draw(spec, region_start, stratum)
    i = rng.integers(0, n, m).astype(np.int32)  # drawn as int64 (the stream), kept as int32
    # The uniform draws u, kind and stay follow i in this one stream, m of each. They are read
    # a chunk at a time from three copies of the generator set at their offsets, so the build
    # never holds them whole (3 x 8 bytes per tie): the same numbers, in a fraction of the memory.
    streams = []
    for offset in range(3):
        g = np.random.Generator(np.random.Philox())
        g.bit_generator.state = rng.bit_generator.state
        for lo in range(0, offset * m, _DRAW_CHUNK):
            g.random(min(_DRAW_CHUNK, offset * m - lo))
        streams.append(g)
    j = np.empty(m, np.int32)
    region_of, block_lo, block_hi = _blocks(region_start, np.ascontiguousarray(stratum))
    for lo in range(0, m, _DRAW_CHUNK):
        hi = min(m, lo + _DRAW_CHUNK)
        u, kind, stay = (g.random(hi - lo) for g in streams)
        _partners(i[lo:hi], u, kind, stay, region_start, region_of, block_lo, block_hi,
                  spec.within_region, spec.same_stratum, j[lo:hi])
    del region_of, block_lo, block_hi
    ends = [i, j]
    del i, j
    return _csr(n, ends, spec.slack)


_DRAW_CHUNK = 1 << 20
MOST_DRAWS = 64  # per tie wanted: a population too small for its degree stops there


def ties_to_draw(spec: NetworkSpec, region_start: np.ndarray, stratum: np.ndarray) -> int:
    """How many ties to draw so that, once self-ties and duplicates are dropped, the network has
    n · mean_degree / 2 ties on average.

    Duplicates are few in a large population but many in a small one, where a stratum block
    holds a handful of citizens (3,000 citizens in 50 regions: blocks of about 8, each asked for
    about 6 ties inside it). Each unordered pair {a, b} is drawn with a probability set by
    whether they share a block or a region, so the expected number of distinct ties after m
    draws is the sum over pairs of 1 - (1 - p)^m, a function of the block and region sizes
    alone; m is where it reaches the target. Beyond MOST_DRAWS draws per tie wanted the
    population cannot hold its degree, and the network is left thinner.
    """
    n = stratum.shape[0]
    target = n * spec.mean_degree / 2
    w, s = spec.within_region, spec.same_stratum
    block, block_region = _block_sizes(region_start, np.ascontiguousarray(stratum))
    region = np.diff(region_start).astype(np.float64)
    b, rb = block.astype(np.float64), region[block_region]
    in_block = b * (b - 1) / 2
    in_region = region * (region - 1) / 2 - np.bincount(block_region, in_block, region.shape[0])
    safe = np.maximum(region, 1.0)  # an empty region has no pairs: its probability is not read
    pairs = np.concatenate([in_block, in_region, [n * (n - 1) / 2 - (region * (region - 1) / 2).sum()]])
    chance = np.concatenate([w * s / np.maximum(b, 1.0) + w * (1 - s) / rb + (1 - w) / n,
                             w * (1 - s) / safe + (1 - w) / n, [(1 - w) / n]]) * 2 / n
    log_miss = np.log1p(-np.minimum(chance, 1 - 1e-12))

    def distinct(m: float) -> float:
        return float(np.dot(pairs, -np.expm1(m * log_miss)))

    lo, hi = target, target * MOST_DRAWS
    if distinct(hi) < target:
        return round(hi)
    for _ in range(60):  # bisection to well under one tie
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if distinct(mid) < target else (lo, mid)
    return round(hi)


@njit(cache=True)
def _block_sizes(region_start, stratum):
    """The size of each stratum block (a run of equal keys inside a region) and its region."""
    n = stratum.shape[0]
    count = 0
    for k in range(n):
        if k == 0 or stratum[k] != stratum[k - 1]:
            count += 1
    size = np.zeros(count, np.int64)
    region = np.zeros(count, np.int64)
    r, b = 0, -1
    for k in range(n):
        while region_start[r + 1] <= k:
            r += 1
        if k == 0 or stratum[k] != stratum[k - 1]:
            b += 1
            region[b] = r
        size[b] += 1
    return size, region


@njit(cache=True)
def _blocks(region_start, stratum):
    """Each citizen's region, and the first and one-past-last id of its stratum block."""
    n = stratum.shape[0]
    region = np.empty(n, np.int32)
    for r in range(region_start.shape[0] - 1):
        region[region_start[r]:region_start[r + 1]] = r
    block_lo = np.empty(n, np.int32)
    block_hi = np.empty(n, np.int32)
    first = 0
    for k in range(1, n + 1):
        if k == n or stratum[k] != stratum[k - 1]:
            block_lo[first:k] = first
            block_hi[first:k] = k
            first = k
    return region, block_lo, block_hi


@njit(parallel=True, cache=True)
def _partners(i, u, kind, stay, region_start, region, block_lo, block_hi, within_region,
              same_stratum, j):
    """The other end of each tie: uniform in i's stratum block, i's region, or anywhere."""
    n = region.shape[0]
    for k in prange(i.shape[0]):
        a = i[k]
        if kind[k] < within_region:
            if stay[k] < same_stratum:
                lo, hi = np.int64(block_lo[a]), np.int64(block_hi[a])
            else:
                lo, hi = region_start[region[a]], region_start[region[a] + 1]
        else:
            lo, hi = np.int64(0), np.int64(n)
        j[k] = lo + min(np.int64(u[k] * (hi - lo)), hi - lo - 1)


EDGE_RULE = "two columns of citizen ids, integers from 0 (id k is citizen k of the run), one tie per row"


def import_edgelist(spec: NetworkSpec, size: int | None = None
                    ) -> tuple[NetworkSpec, int, np.ndarray]:
    """The spec as a run records it, the population the file sets, and its ties.

    The record names the file by its absolute path and the sha256 of its bytes, so a stored run is
    rebuilt from any folder and refused once the file has changed. `size` is a population size the
    user chose; the file decides the population, so a different one is refused, not overridden.
    """
    path = Path(os.path.abspath(Path(spec.edgelist or "").expanduser()))
    _must_exist(path)
    digest = file_sha256(path)
    if spec.edgelist_sha256 is not None and digest != spec.edgelist_sha256:
        raise ScorestateError(
            f"network.edgelist: '{path}' has changed since this scenario was resolved: its sha256 is "
            f"{digest}; expected {spec.edgelist_sha256} (network.edgelist_sha256). Restore the file, "
            "or leave network.edgelist_sha256 and population.size out to run on it as it is now")
    n, edges = read_edgelist(path)
    if size is not None and size != n:
        raise ScorestateError(
            f"population.size is {size:,}, but the edge list '{path}' sets {n:,} citizens (its largest "
            f"id is {n - 1:,}); expected no population size (-n), or {n}: the file sets the population")
    return spec.model_copy(update={"edgelist": str(path), "edgelist_sha256": digest}), n, edges


def file_sha256(path: Path) -> str:
    """The fingerprint a run keeps of its edge list: the bytes, not a date that copies change."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_edgelist(path: str | Path) -> tuple[int, np.ndarray]:
    """(population, ties) of a CSV or Parquet edge list, the ties as an (m, 2) int64 array.

    Ids are not renumbered, so results join back to the file by id; the population is the largest
    id + 1, and ids in no row are citizens without ties. A blank cell, a negative or fractional id,
    a self-loop, a column too many or none at all is refused with its line: a silent repair would
    run a network other than the file's.
    """
    p = Path(path)
    _must_exist(p)
    if p.suffix.lower() in {".parquet", ".pq"}:
        frame, rows = _read_parquet(p), _Rows(p, None)
    else:
        frame, header, first = _read_csv(p)
        rows = _Rows(p, header)
        if frame.width == 1 and frame.height and ("\t" in first or " " in first.strip()):
            sep = "tabs" if "\t" in first else "spaces"
            raise ScorestateError(
                f"network.edgelist: '{p}' has one column: its first line {first!r} is separated by "
                f"{sep}; expected {EDGE_RULE}, separated by a comma (e.g. 0,1)")
    if frame.height == 0:
        raise ScorestateError(f"network.edgelist: '{p}' has no ties; expected {EDGE_RULE}")
    if frame.width != 2:
        names = f" ({', '.join(frame.columns)})" if rows.header is not False else ""
        count = "one column" if frame.width == 1 else f"{frame.width} columns"
        extra = " (a weight or any other column is not used: drop it)" if frame.width > 2 else ""
        raise ScorestateError(f"network.edgelist: '{p}' has {count}{names}; expected {EDGE_RULE}"
                              f"{extra}")
    bad = [(found[0], k, found[1]) for k in range(2) if (found := _first_bad(frame.to_series(k)))]
    if bad:
        row, k, why = min(bad)
        raise ScorestateError(f"network.edgelist: '{p}' {rows.at(row)}, {rows.column(frame, k)}: "
                              f"{why}; expected a citizen id, an integer from 0")
    a, b = (frame.to_series(k).cast(pl.Int64).to_numpy() for k in range(2))
    loops = np.flatnonzero(a == b)
    if loops.size:
        raise ScorestateError(
            f"network.edgelist: '{p}' {rows.at(int(loops[0]))} ties citizen {a[loops[0]]} to itself "
            f"({loops.size:,} such row{'s' if loops.size > 1 else ''}); expected two different "
            "citizens per row (a citizen without ties needs no row: ids in no row are such citizens)")
    return int(max(a.max(), b.max())) + 1, np.stack([a, b], axis=1)


def _must_exist(p: Path) -> None:
    """A regular file that reads as text (or Parquet by its suffix): a folder, a device or a
    binary file is named as what it is, not as a file with no ties."""
    if p.is_dir():
        raise ScorestateError(f"network.edgelist: '{p}' is a folder; expected a CSV or Parquet file "
                              f"of {EDGE_RULE}")
    if not p.exists():
        raise ScorestateError(f"network.edgelist: the file '{p}' does not exist; expected a CSV or "
                              f"Parquet file of {EDGE_RULE}")
    if not p.is_file():
        raise ScorestateError(f"network.edgelist: '{p}' is not a regular file; expected a CSV or "
                              f"Parquet file of {EDGE_RULE}")
    if p.suffix.lower() not in {".parquet", ".pq"}:
        with p.open("rb") as f:
            head = f.read(4096)
        if b"\0" in head or head.startswith(b"PAR1"):
            raise ScorestateError(f"network.edgelist: '{p}' is a binary file, not CSV text; expected "
                                  f"a CSV file of {EDGE_RULE} (a Parquet file needs the suffix .parquet)")


def _read_parquet(p: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(p)
    except Exception as e:  # polars raises many types for malformed files
        raise ScorestateError(f"network.edgelist: '{p}' could not be read as Parquet "
                              f"({_reason(e)}); expected {EDGE_RULE}") from None


def _read_csv(p: Path) -> tuple[pl.DataFrame, bool, str]:
    """The frame, whether the first line was a header, and that line. Integer columns are read
    directly; a file that does not parse so is read as text, for `_first_bad` to say where."""
    first = _first_line(p)
    if first is None:
        return pl.DataFrame(), False, ""
    header = not any(_is_number(field) for field in first.split(","))
    read = partial(pl.read_csv, p, has_header=header, comment_prefix="#")
    try:
        return read(schema_overrides=[pl.Int64, pl.Int64]), header, first
    except Exception:  # a value or a column count that does not fit: read as text to find it
        try:
            return read(infer_schema=False), header, first
        except Exception as e:
            raise ScorestateError(f"network.edgelist: '{p}' could not be read as CSV ({_reason(e)}); "
                                  f"expected {EDGE_RULE}, separated by commas") from None


def _reason(e: Exception) -> str:
    """The exception's class and first line: polars' messages go on for a screen."""
    lines = str(e).strip().splitlines()
    return f"{e.__class__.__name__}: {lines[0]}" if lines else e.__class__.__name__


def _first_line(p: Path) -> str | None:
    """The first line that is neither blank nor a # comment (None: the file has no such line)."""
    with p.open(encoding="utf-8-sig", errors="replace") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                return line.rstrip("\r\n")
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_bad(col: pl.Series) -> tuple[int, str] | None:
    """The first row of a column that is not a citizen id, and what is wrong with it."""
    if col.null_count():
        return int(col.is_null().arg_max() or 0), "the cell is empty"
    if col.dtype == pl.String:
        ids = col.str.strip_chars().cast(pl.Int64, strict=False)
        if ids.null_count():
            k = int(ids.is_null().arg_max() or 0)
            return k, f"{col[k]!r} is not a whole number"
        col = ids
    elif not col.dtype.is_integer():
        whole = col.is_finite() & (col == col.floor()) if col.dtype.is_float() else None
        k = int((~whole).arg_max() or 0) if whole is not None and not whole.all() else 0
        return k, f"the column holds {col.dtype} values ({col[k]!r} here), not integers"
    neg = col < 0
    if neg.any():
        k = int(neg.arg_max() or 0)
        return k, f"{col[k]} is negative"
    big = col >= MAX_POPULATION
    if big.any():
        k = int(big.arg_max() or 0)
        return k, f"{col[k]:,} is beyond the largest population scorestate runs ({MAX_POPULATION:,})"
    return None


class _Rows:
    """Where a frame's row is in the file, as its user counts: a CSV's line (comment lines and
    the header count; the file is read again only to name a bad row), or a Parquet row from 1."""

    def __init__(self, path: Path, header: bool | None) -> None:
        self.path, self.header = path, header

    def at(self, row: int) -> str:
        if self.header is None:
            return f"row {row + 1}"
        k = -1 - self.header
        with self.path.open(encoding="utf-8-sig", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if not line.startswith("#"):
                    k += 1
                    if k == row:
                        text = line.rstrip("\r\n")
                        return f"line {number} ({text!r})"
        return f"row {row + 1}"

    def column(self, frame: pl.DataFrame, k: int) -> str:
        named = self.header is not False
        return f"column {k + 1}" + (f" ('{frame.columns[k]}')" if named else "")


def from_networkx(graph: object) -> tuple[int, np.ndarray]:
    """(n, edges) of a networkx graph. Integer node labels are the citizens' ids, as in an edge
    list (citizen k is node k; the population is the largest label + 1), so the same network
    gives the same citizens either way; other labels (names) are numbered 0..n-1 in the graph's
    node order. A directed graph's ties are taken as undirected.

    A self-loop is refused, as in an edge list: dropping it would run a network other than the
    one given.
    """
    import networkx as nx

    if not isinstance(graph, nx.Graph):
        raise ScorestateError(f"expected a networkx graph; got {type(graph).__name__}")
    loops = nx.number_of_selfloops(graph)
    if loops:
        node = next(iter(nx.selfloop_edges(graph)))[0]
        raise ScorestateError(
            f"the networkx graph ties node {node!r} to itself ({loops:,} self-loop"
            f"{'s' if loops > 1 else ''}); expected ties between two different nodes: remove them "
            "with G.remove_edges_from(list(nx.selfloop_edges(G)))")
    nodes = list(graph.nodes())
    if nodes and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in nodes):
        low = min(nodes)
        if low < 0:
            raise ScorestateError(f"the networkx graph has node {low}; expected integer labels from "
                                  "0 (they are the citizens' ids), or names")
        n = int(max(nodes)) + 1
        edges = np.array([(int(a), int(b)) for a, b in graph.edges()], dtype=np.int64)
    else:
        index = {node: k for k, node in enumerate(nodes)}
        n = len(index)
        edges = np.array([(index[a], index[b]) for a, b in graph.edges()], dtype=np.int64)
    return n, edges.reshape(-1, 2)


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


_SAMPLE = 1024  # citizens whose roots vote for the giant component


@intrinsic
def _cas(typingctx, arr, idx, expected, value):
    """Atomic compare-and-swap of arr[idx]; returns the value found there."""
    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        found = builder.cmpxchg(ptr, args[2], args[3], "monotonic", "monotonic")
        return builder.extract_value(found, 0)
    return arr.dtype(arr, types.intp, arr.dtype, arr.dtype), codegen


@njit(inline="always")
def _root(parent, a):
    """The root of a, halving the path on the way (a parent is only ever set to an ancestor)."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@njit(inline="always")
def _link(parent, u, v):
    """Join the trees of u and v: the higher root is hooked under the lower one by an atomic
    swap (retried if another thread hooked it first), so every root is its tree's lowest id."""
    while True:
        a = _root(parent, u)
        b = _root(parent, v)
        if a == b:
            return
        if a < b:
            a, b = b, a
        if _cas(parent, a, a, b) == a:
            return


@njit(parallel=True, cache=True)
def _compress(parent):
    """Point every citizen at its root (threads may share it: a parent only moves up its tree)."""
    for i in prange(parent.shape[0]):
        while parent[i] != parent[parent[i]]:
            parent[i] = parent[parent[i]]


@njit(parallel=True, cache=True)
def components(start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray) -> tuple[int, int]:
    """(number of connected components, size of the largest), by parallel union-find (Afforest,
    Sutton et al. 2018).

    Every citizen's first two ties are joined, which puts nearly all citizens of a connected
    network in one tree; the most frequent root among sampled citizens names it. Only citizens
    outside that tree then join their other ties: a tie from inside it to a citizen outside is
    joined from the outside end. Both numbers are exact whatever the thread count and order.
    """
    n = degree.shape[0]
    if n == 0:
        return 0, 0
    parent = np.arange(n, dtype=np.int32)
    for i in prange(n):
        for k in range(start[i], start[i] + min(2, degree[i])):
            _link(parent, np.int32(i), nbrs[k])
    _compress(parent)
    sample = np.empty(_SAMPLE, np.int32)
    for k in range(_SAMPLE):
        sample[k] = parent[k * n // _SAMPLE]
    sample.sort()
    giant, votes, run = sample[0], 0, 0
    for k in range(_SAMPLE):
        run = run + 1 if k > 0 and sample[k] == sample[k - 1] else 1
        if run > votes:
            giant, votes = sample[k], run
    for i in prange(n):
        if parent[i] != giant:
            for k in range(start[i] + 2, start[i] + degree[i]):
                _link(parent, np.int32(i), nbrs[k])
    _compress(parent)
    root = parent[giant]
    count = 0
    largest = 0
    for i in prange(n):
        count += parent[i] == i
        largest += parent[i] == root
    if largest <= n - largest:  # another component could be larger
        size = np.zeros(n, np.int32)
        for i in range(n):
            size[parent[i]] += 1
        largest = size.max()
    return count, largest
