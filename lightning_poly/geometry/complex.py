r"""The whole region complex of a ReLU MLP: every linear region, its facets and the adjacency graph, in batches.

The walk of :func:`~lightning_poly.geometry.exhaustive.all_regions` handles one region and one LP at a time.
:func:`region_complex` walks the same graph with a *frontier* of regions processed together:

1. the H-representations of the whole batch (:func:`~lightning_poly.geometry.region_hrep`);
2. every row of every region decided at once by the batched exact counter (the ``"simplex"`` method of
   :func:`~lightning_poly.geometry.count_facets`; rows it leaves open get one exact LP each), which also
   returns, for most facets, a point of the facet's relative interior (from the simple vertices and
   witnesses that proved it);
3. across every network facet, the pattern is *read* just across that point (one batched forward pass): in
   a one-hidden-layer network this is the pattern with the facet's neuron (and its duplicates) flipped, in
   deeper networks the deeper neurons may switch too. Facets without such a point (rows decided by an LP)
   get one LP for their Chebyshev centre in the facet, as in the walk;
4. new patterns are deduplicated by their packed bytes and form the next frontier.

The graph of full-dimensional regions in the box is connected, so the walk finds every region; the regions
and facets are the walk's (tested region by region, degenerate networks included).

Without a box (``box=None``) the regions are the cells of the whole input space: the walk is seeded by
points of ``[-1, 1]^d``, and each cell is reported bounded or unbounded (``2d`` LPs per cell).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lightning_poly._validation import check_int, check_positive
from lightning_poly.geometry.exhaustive import point_across_facet
from lightning_poly.geometry.faces.certified import certify_facets
from lightning_poly.geometry.faces.clarkson import clarkson_facets
from lightning_poly.geometry.faces.cleaning import chebyshev_ball, clean_rows, interior_points
from lightning_poly.geometry.faces.count import simplex_exact
from lightning_poly.geometry.faces.lp import lp_bounding_box
from lightning_poly.geometry.faces.result import polytope_status
from lightning_poly.geometry.regions import activation_patterns, enumerate_regions, region_hrep, sample_box
from lightning_poly.nn.relu_network import linear_layers
from lightning_poly.solvers.lp import LPFailure

__all__ = ["RegionComplex", "region_complex"]

Progress = Callable[[int, int], None]


@dataclass
class RegionComplex:
    """Every region of a ReLU MLP in a box (or in the whole space), its facets and its neighbours.

    Regions are sorted by pattern (as :func:`~lightning_poly.geometry.exhaustive.all_regions` returns them).
    Rows ``0..Γ-1`` of each H-representation are the hidden neurons, rows ``Γ..`` the box's.

    Attributes:
        patterns: ``(R, Γ)`` bool activation patterns.
        a: ``(R, m, d)`` float64 rows of :func:`~lightning_poly.geometry.region_hrep`.
        b: ``(R, m)`` their offsets.
        facets: ``(R, m)`` bool, the non-redundant rows (one per group of duplicates).
        status: ``(R,)`` index into :data:`~lightning_poly.geometry.faces.STATUS`.
        neighbours: ``(R, m)`` long: the region across each network facet, ``-1`` elsewhere (box facets,
            redundant rows, and neighbours beyond an exhausted budget).
        n_neurons: ``Γ``.
        box: the box's half-width, or ``None`` (the whole space).
        complete: every region was reached (``False`` when a budget stopped the walk).
        reason: why the walk stopped early (empty when complete).
        seconds: wall time of the call.
        lps: LPs solved (interior points, open rows, facet centres, boundedness).
        centres: ``(R, d)`` Chebyshev centres with ``centres=True``, else ``None``.
        radii: ``(R,)`` their radii (capped at 1e3), else ``None``.
        volumes: ``(R,)`` volumes with ``volumes=True`` (``d <= 6``; ``inf`` for unbounded cells), else ``None``.
        bounded: ``(R,)`` bool without a box, else ``None`` (every region in a box is bounded).
        notes: degeneracies met and fallbacks taken.
        certified_rows: row decisions certified by a float64 error bound (``certify=True``).
        exact_rows: row decisions made in rational arithmetic because no float64 certificate decided them.
        certified: every decision was certified or made exactly (``certify=True`` with a box).
    """

    patterns: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    facets: torch.Tensor
    status: torch.Tensor
    neighbours: torch.Tensor
    n_neurons: int
    box: float | None
    complete: bool = True
    reason: str = ""
    seconds: float = 0.0
    lps: int = 0
    centres: torch.Tensor | None = None
    radii: torch.Tensor | None = None
    volumes: torch.Tensor | None = None
    bounded: torch.Tensor | None = None
    notes: list[str] = field(default_factory=list)
    certified_rows: int = 0
    exact_rows: int = 0
    certified: bool = False

    def __len__(self) -> int:
        return int(self.patterns.shape[0])

    @property
    def counts(self) -> torch.Tensor:
        """``(R,)`` facets of every region (network and box facets)."""
        return self.facets.sum(dim=1)

    @property
    def network_counts(self) -> torch.Tensor:
        """``(R,)`` facets that belong to neurons."""
        return self.facets[:, : self.n_neurons].sum(dim=1)

    @property
    def box_counts(self) -> torch.Tensor:
        """``(R,)`` facets that belong to the box."""
        return self.facets[:, self.n_neurons :].sum(dim=1)

    @property
    def edges(self) -> torch.Tensor:
        """``(E, 2)`` long, the adjacency (dual) graph: each pair ``i < j`` of regions sharing a facet, once."""
        r, k = torch.nonzero(self.neighbours >= 0, as_tuple=True)
        j = self.neighbours[r, k]
        pairs = torch.stack([torch.minimum(r, j), torch.maximum(r, j)], dim=1)
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        return torch.unique(pairs, dim=0) if len(pairs) else pairs.reshape(0, 2)

    def to_networkx(self) -> Any:
        """The adjacency graph as a ``networkx.Graph`` (nodes carry ``faces`` and ``pattern``).

        Raises:
            ModuleNotFoundError: networkx is not installed.
        """
        try:
            import networkx as nx
        except ModuleNotFoundError as err:
            raise ModuleNotFoundError("`to_networkx` needs networkx: pip install networkx") from err
        g = nx.Graph()
        counts = self.counts.tolist()
        for i, p in enumerate(self.patterns.cpu().numpy()):
            g.add_node(i, faces=counts[i], pattern=p)
        g.add_edges_from(self.edges.tolist())
        return g


def pattern_keys(patterns: torch.Tensor) -> list[bytes]:
    """One hashable key per pattern: its packed bits."""
    packed = np.packbits(patterns.cpu().numpy(), axis=1)
    return [row.tobytes() for row in packed]


def _check(model: nn.Module, box: float | None, options: dict[str, Any]) -> tuple[int, int]:
    """Validate :func:`region_complex`'s arguments; returns ``(d, Γ)``."""
    if box is not None:
        check_positive("box", box)
    check_int("seed_points", options["seed_points"], minimum=1)
    check_int("max_regions", options["max_regions"], minimum=1)
    check_int("batch_size", options["batch_size"], minimum=1)
    check_int("memory", options["memory"], minimum=1)
    check_positive("tol", options["tol"])
    if options["max_seconds"] is not None:
        check_positive("max_seconds", options["max_seconds"])
    progress = options["progress"]
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"`progress` can be True, False or a callable (done, found), got {progress!r}")
    layers = linear_layers(model)
    d = layers[0].in_features
    if options["volumes"] and d > 6:
        raise ValueError(f"`volumes=True` is offered for d <= 6 (Qhull of each region), got d = {d}")
    return d, sum(lin.out_features for lin in layers[:-1])


def _progress(progress: bool | Progress) -> tuple[Progress | None, Any]:
    if callable(progress):
        return progress, None
    if not progress:
        return None, None
    try:
        from tqdm.auto import tqdm
    except ModuleNotFoundError:
        return None, None
    bar = tqdm(desc="regions", unit="region", leave=False, dynamic_ncols=True)

    def update(done: int, found: int) -> None:
        bar.total = found
        bar.n = done
        bar.refresh()

    return update, bar


@torch.no_grad()
def _facet_points(
    a_n: torch.Tensor, b_n: torch.Tensor, keep: torch.Tensor, point: torch.Tensor, fr: torch.Tensor, fk: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked facet points: ``(c, depth)`` with ``depth`` the smallest slack at ``c`` of the other kept rows,
    ``-inf`` where the point is missing or not on its facet."""
    c = point[fr, fk]
    slack = b_n[fr] - torch.einsum("nmd,nd->nm", a_n[fr], c.nan_to_num(0.0))
    idx = torch.arange(len(fr), device=c.device)
    own = slack[idx, fk]
    others = keep[fr].clone()
    others[idx, fk] = False
    depth = torch.where(others, slack, torch.inf).amin(dim=1)
    bad = torch.isnan(c).any(dim=1) | (own.abs() > 1e-9) | ~torch.isfinite(depth)
    return c, depth.masked_fill(bad, -torch.inf)


@torch.no_grad()
def region_complex(
    model: nn.Module,
    *,
    box: float | None = 1.0,
    seed_points: int = 1000,
    seed: int = 0,
    max_regions: int = 200_000,
    max_seconds: float | None = None,
    batch_size: int = 2048,
    memory: int = 2**28,
    tol: float = 1e-9,
    interior_tol: float = 1e-9,
    centres: bool = False,
    volumes: bool = False,
    progress: bool | Progress = False,
    certify: bool = False,
) -> RegionComplex:
    r"""Every region of ``model`` in ``[-box, box]^d`` (or in the whole space), its facets and its neighbours.

    Args:
        model: a ReLU MLP (see :func:`lightning_poly.nn.get_relu_network`), on any device.
        box: half-width of the box, or ``None`` for the whole input space (cells reported bounded or not).
        seed_points: uniform points of the box (of ``[-1, 1]^d`` without one) that seed the walk.
        seed: seed of those points and of the counter's rays.
        max_regions: regions processed at most; beyond, the walk stops and the result says so
            (``complete=False``).
        max_seconds: wall-time budget of the call (checked between batches), or ``None``.
        batch_size: regions per batch of the frontier.
        memory: bytes of the counter's walk state per chunk of a batch.
        tol: a row is a facet if it can be made tight with slack ``> tol`` on the others (the walk's
            criterion).
        interior_tol: regions with inradius ``<= interior_tol`` are ``"empty_interior"``.
        centres: also compute each region's Chebyshev centre and radius (one LP per region).
        volumes: also compute each region's volume (``d <= 6``; Qhull per region).
        progress: ``True`` for a tqdm bar (if tqdm is installed), or a callable ``(done, found)``.
        certify: certify every facet/redundancy decision against float64 rounding and decide the rows no
            certificate decides in rational arithmetic (:mod:`~lightning_poly.geometry.faces.certified`), so
            that the counts do not rest on ``tol``; needs a box (the redundancy certificates bound ``x`` by it).
            Exact for the float64 H-representation *as computed*: where rows are dependent in real arithmetic
            but not after rounding (zero biases: a deeper neuron's row is a combination of the few first-layer
            rows active in a cone), exact arithmetic counts facets of width ~1e-17 that the network does not
            have (4-10-10-1 without biases: 13,667 facets certified against 13,440 by ``tol``); hence off by
            default. Regions are still found with ``interior_tol``.

    Returns:
        :class:`RegionComplex`.

    Raises:
        ValueError: an option out of range (the message names it, the allowed values and the value received).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0], [0, 1], [1, 1], [1, -1]]))
        ...     _ = net[0].bias.copy_(torch.tensor([0.1, -0.2, 0.05, 0.3]))
        >>> cx = region_complex(net, box=10.0)
        >>> len(cx), len(cx.edges), cx.complete  # 4 lines in general position: 11 regions, 4 x 4 segments
        (11, 16, True)
        >>> region_complex(net, box=None).bounded.sum().item()  # 3 bounded cells of 4 lines: (4-1)(4-2)/2
        3
    """
    t_start = time.perf_counter()
    opts = dict(seed_points=seed_points, max_regions=max_regions, batch_size=batch_size, memory=memory, tol=tol,
                max_seconds=max_seconds, progress=progress, volumes=volumes)  # fmt: skip
    d, gamma = _check(model, box, opts)
    report, bar = _progress(progress)
    device = linear_layers(model)[0].weight.device
    seeds = enumerate_regions(model, sample_box(seed_points, d, box or 1.0, seed, device), box=box or 1.0)
    index: dict[bytes, int] = {}
    for k in pattern_keys(seeds.patterns):
        index[k] = len(index)
    frontier_p, frontier_x = [seeds.patterns], [seeds.points]
    done: list[dict[str, torch.Tensor]] = []
    edges_r, edges_k, edges_j = [], [], []
    lps = processed = 0
    notes: list[str] = []
    reason = ""
    while frontier_p:
        pats, cand = torch.cat(frontier_p), torch.cat(frontier_x)
        if processed >= max_regions:
            reason = f"`max_regions`={max_regions} reached with {len(pats)} regions left in the frontier"
            break
        if max_seconds is not None and time.perf_counter() - t_start > max_seconds:
            reason = f"`max_seconds`={max_seconds} spent with {len(pats)} regions left in the frontier"
            break
        take = min(batch_size, max_regions - processed, len(pats))
        frontier_p, frontier_x = [pats[take:]], [cand[take:]]
        if not len(frontier_p[0]):
            frontier_p, frontier_x = [], []
        pats, cand = pats[:take], cand[:take]
        out, extra, new = _process(
            model,
            pats,
            cand,
            box,
            processed,
            gamma,
            tol,
            interior_tol,
            seed,
            memory,
            index,
            certify and box is not None,
        )
        lps += extra
        done.append(out)
        edges_r.append(out["fr"])
        edges_k.append(out["fk"])
        edges_j.append(out["fj"])
        if new is not None:
            frontier_p.append(new[0])
            frontier_x.append(new[1])
        processed += take
        if report is not None:
            report(processed, len(index))
    if bar is not None:
        bar.close()
    if not done:  # the budget was spent before the first batch
        done.append(_empty(model, box, device))
        edges_r = edges_k = edges_j = [torch.zeros(0, dtype=torch.long)]
    cx = _assemble(done, edges_r, edges_k, edges_j, processed, gamma, box, reason)
    lps += _extras(cx, centres, volumes)
    n_empty = int((cx.status != 0).sum())
    if n_empty:
        notes.append(f"{n_empty} regions have an empty interior (inradius <= {interior_tol}); no facets")
    cx.certified_rows = sum(int(o["cert"][0]) for o in done if "cert" in o)
    cx.exact_rows = sum(int(o["cert"][1]) for o in done if "cert" in o)
    cx.certified = certify and box is not None
    cx.lps, cx.notes, cx.seconds = lps, notes, time.perf_counter() - t_start
    return cx


def _process(
    model: nn.Module,
    pats: torch.Tensor,
    cand: torch.Tensor,
    box: float | None,
    offset: int,
    gamma: int,
    tol: float,
    interior_tol: float,
    seed: int,
    memory: int,
    index: dict[bytes, int],
    certify: bool,
) -> tuple[dict[str, torch.Tensor], int, tuple[torch.Tensor, torch.Tensor] | None]:
    """One batch of the frontier: H-representations, facets, the patterns across every network facet."""
    a, b = region_hrep(model, pats, box)
    a_n, b_n, keep, infeasible, _ = clean_rows(a, b)
    x0, depth, lps = interior_points(a_n, b_n, keep, cand.to(a_n), interior_tol)
    status = polytope_status(depth, infeasible, interior_tol)
    ok = (status == 0).to(a.device)
    cert: dict[str, torch.Tensor] = {}
    # certified: the rows the walks leave open are decided in exact arithmetic below, with no LP first
    facets, no_vertex, n, point = simplex_exact(a_n, b_n, keep, x0, ok, tol, seed, memory, True, cert, not certify)
    lps += n
    assert point is not None
    for i in torch.nonzero(no_vertex & ok).flatten().tolist():  # no simple vertex found: Clarkson's LPs
        rows = torch.nonzero(keep[i]).flatten()
        ai, bi = a_n[i, rows].cpu().numpy(), b_n[i, rows].cpu().numpy()
        f, n = clarkson_facets(ai, bi, x0[i].cpu().numpy(), tol, np.zeros(len(rows), dtype=bool))
        facets[i, rows] = torch.as_tensor(f, device=facets.device)
        lps += n
    fr, fk = torch.nonzero(facets, as_tuple=True)
    c, dep, across, found, n = _across_points(a_n, b_n, keep, point, fr, fk)
    lps += n
    n_cert = n_exact = 0
    if certify:  # every decision certified in float64 or made again in rational arithmetic
        witness = torch.full_like(point, torch.nan)
        witness[fr[found], fk[found]] = across[found]
        new, n_cert, n_exact = certify_facets(
            a, b, facets, keep, witness, cert["basis"], cert["redundant"], box, ok, cert["tie"]
        )
        if not torch.equal(new, facets):
            facets = new
            fr, fk = torch.nonzero(facets, as_tuple=True)
            c, dep, across, found, n = _across_points(a_n, b_n, keep, point, fr, fk)
            lps += n
    found &= fk < gamma  # neighbours across the network's facets
    fr, fk, across, c, dep = fr[found], fk[found], across[found], c[found], dep[found]
    ak = a_n[fr, fk]
    nxt = activation_patterns(model, across)
    deep = c + (dep / 2).clamp_min(0)[:, None] * ak  # a deeper interior point, if in the same region
    nxt_deep = activation_patterns(model, deep)
    same = (nxt_deep == nxt).all(dim=1)
    best = torch.where(same[:, None], deep, across)
    uniq, inv = torch.unique(nxt, dim=0, return_inverse=True)
    # per distinct neighbour: the candidate with the largest depth
    score = torch.where(same, dep, 0.0)
    top = torch.full((len(uniq),), -torch.inf, dtype=score.dtype, device=score.device)
    top.scatter_reduce_(0, inv, score, reduce="amax")
    pos = torch.arange(len(inv), device=inv.device)
    first = torch.full((len(uniq),), len(inv), dtype=torch.long, device=inv.device)
    first.scatter_reduce_(0, inv, torch.where(score == top[inv], pos, len(inv)), reduce="amin")
    uid = torch.empty(len(uniq), dtype=torch.long)
    new_rows = []
    for u, key in enumerate(pattern_keys(uniq)):
        j = index.get(key)
        if j is None:
            j = index[key] = len(index)
            new_rows.append(u)
        uid[u] = j
    new = None
    if new_rows:
        sel = torch.as_tensor(new_rows, device=uniq.device)
        new = (uniq[sel], best[first[sel]])
    out = {"patterns": pats, "a": a, "b": b, "facets": facets, "status": status,
           "fr": fr.cpu() + offset, "fk": fk.cpu(), "fj": uid[inv.cpu()],
           "cert": torch.tensor([n_cert, n_exact])}  # fmt: skip
    return out, lps, new


def _empty(model: nn.Module, box: float | None, device: torch.device) -> dict[str, torch.Tensor]:
    """A batch of no region (the shapes of :func:`region_hrep`'s)."""
    layers = linear_layers(model)
    gamma, d = sum(lin.out_features for lin in layers[:-1]), layers[0].in_features
    m = gamma + (2 * d if box is not None else 0)
    z = torch.zeros(0, m, device=device)
    return {"patterns": torch.zeros(0, gamma, dtype=torch.bool, device=device),
            "a": torch.zeros(0, m, d, dtype=torch.float64, device=device), "b": z.double(), "facets": z.bool(),
            "status": torch.zeros(0, dtype=torch.long)}  # fmt: skip


def _across_points(
    a_n: torch.Tensor, b_n: torch.Tensor, keep: torch.Tensor, point: torch.Tensor, fr: torch.Tensor, fk: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """A point just across each facet ``(fr, fk)``: ``(c, depth, across, found, lps)``, ``c`` on the facet
    (the simplex's point, or the facet's Chebyshev centre by one LP, as in the walk) and ``across`` a step over it."""
    c, dep = _facet_points(a_n, b_n, keep, point, fr, fk)
    missing = torch.nonzero(dep <= 1e-9).flatten().tolist()
    if missing:  # the walk's way: the facet's Chebyshev centre (one LP), then a step across
        a_np, b_np, keep_np = a_n.cpu().numpy(), b_n.cpu().numpy(), keep.cpu().numpy()
        for q in missing:
            x = point_across_facet(a_np[fr[q]], b_np[fr[q]], keep_np[fr[q]], int(fk[q]))
            if x is not None:  # the walk's step, kept as is: c + step a_k with the depth that gives it
                c[q] = torch.as_tensor(x, dtype=c.dtype, device=c.device)
                dep[q] = 0.0
    step = torch.where(dep > 0, (dep / 2).clamp_max(1e-6), 0.0)
    across = c + step[:, None] * a_n[fr, fk]
    found = torch.isfinite(dep) & ~torch.isnan(across).any(dim=1)
    return c, dep, across, found, len(missing)


def _assemble(
    done: list[dict[str, torch.Tensor]],
    edges_r: list[torch.Tensor],
    edges_k: list[torch.Tensor],
    edges_j: list[torch.Tensor],
    processed: int,
    gamma: int,
    box: float | None,
    reason: str,
) -> RegionComplex:
    """Concatenate the batches, sort the regions by pattern and map the neighbours to the sorted order."""
    pats = torch.cat([o["patterns"] for o in done])
    _, perm = _sort_rows(pats)
    rank = torch.empty(processed, dtype=torch.long)
    rank[perm] = torch.arange(processed)
    fr, fk, fj = torch.cat(edges_r), torch.cat(edges_k), torch.cat(edges_j)
    inside = fj < processed  # neighbours beyond the budget were never processed
    a = torch.cat([o["a"] for o in done])
    neighbours = torch.full(a.shape[:2], -1, dtype=torch.long)
    neighbours[rank[fr[inside]], fk[inside]] = rank[fj[inside]]
    return RegionComplex(
        patterns=pats[perm.to(pats.device)],
        a=a[perm.to(a.device)],
        b=torch.cat([o["b"] for o in done])[perm.to(a.device)],
        facets=torch.cat([o["facets"] for o in done])[perm.to(a.device)],
        status=torch.cat([o["status"] for o in done])[perm],
        neighbours=neighbours.to(a.device),
        n_neurons=gamma,
        box=box,
        complete=not reason,
        reason=reason,
    )


def _sort_rows(pats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lexicographic order of distinct bool rows (``torch.unique``'s): ``(sorted, perm)``."""
    uniq, inv = torch.unique(pats.cpu(), dim=0, return_inverse=True)
    perm = torch.empty(len(uniq), dtype=torch.long)
    perm[inv] = torch.arange(len(pats))
    return uniq, perm


def _extras(cx: RegionComplex, centres: bool, volumes: bool) -> int:
    """Chebyshev centres, volumes and boundedness on request (one region at a time); returns the LPs solved."""
    lps = 0
    want_bounded = cx.box is None
    if not (centres or volumes or want_bounded):
        return 0
    a_n, b_n, keep, _, _ = clean_rows(cx.a.cpu(), cx.b.cpu())
    r, _, d = a_n.shape
    cen = torch.full((r, d), torch.nan, dtype=torch.float64)
    rad = torch.zeros(r, dtype=torch.float64)
    vol = torch.zeros(r, dtype=torch.float64)
    bounded = torch.ones(r, dtype=torch.bool)
    for i in range(r):
        rows = keep[i].numpy()
        ai, bi = a_n[i].numpy()[rows], b_n[i].numpy()[rows]
        if want_bounded:
            lo, hi, n = lp_bounding_box(ai, bi)
            bounded[i] = bool(np.isfinite(lo).all() and np.isfinite(hi).all())
            lps += n
        if centres or volumes:
            try:
                xc, rc = chebyshev_ball(ai, bi)
            except LPFailure:
                xc, rc = np.full(d, np.nan), 0.0
            lps += 1
            cen[i], rad[i] = torch.as_tensor(xc), rc
        if volumes:
            vol[i] = _volume(ai, bi, xc, rc, bool(bounded[i]))
    if centres:
        cx.centres, cx.radii = cen, rad
    if volumes:
        cx.volumes = vol
    if want_bounded:
        cx.bounded = bounded
    return lps


def _volume(a: np.ndarray, b: np.ndarray, x0: np.ndarray, radius: float, bounded: bool) -> float:
    """Volume of ``{a x <= b}`` from its vertices (Qhull); ``inf`` if unbounded, 0 without an interior."""
    if not bounded:
        return float("inf")
    if radius <= 1e-9:
        return 0.0
    from scipy.spatial import ConvexHull, HalfspaceIntersection

    hs = HalfspaceIntersection(np.hstack([a, -b[:, None]]), x0)
    return float(ConvexHull(hs.intersections).volume)
