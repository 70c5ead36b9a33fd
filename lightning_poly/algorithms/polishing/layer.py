r"""Polishing: replace each neuron by the exact normal to the training points it nearly touches.

Wedge-products paper, Section 4.1 (procedure steps 1-3) with Theorem 4: optimal ReLU neurons are
multiples of the generalised cross product :math:`\star(\tilde x_{j_1} \wedge \dots \wedge \tilde x_{j_{r-1}})`
of :math:`r - 1` inputs, i.e. orthogonal to them. For a trained layer with weights :math:`W` (and
bias :math:`b`, handled by augmenting inputs with a column of ones, :math:`\tilde x = (x, 1)`,
:math:`\tilde w = (w, b)`), every neuron :math:`j`:

1. computes :math:`|\tilde x_i^\top \tilde w_j|` for all inputs;
2. picks the :math:`r - 1` inputs with the smallest magnitudes (its *explanation*), where
   :math:`r = \operatorname{rank}(\tilde X)`;
3. becomes the normal to them, oriented like the original neuron, normalised to :math:`\|w_j\|_p = 1`
   as step 3 says when ``p`` is given (the weights, not the bias: problem (2) regularises the weights only),
   else given its original norm (``p=None``, the earlier behaviour).

Readings chosen where the paper is silent:

* rank-deficient inputs (Lemma 23): we work in the :math:`r`-dimensional row space of
  :math:`\tilde X` from its compact SVD; the polished neuron has no component outside it (the
  optimal neurons of Lemma 23 satisfy :math:`(V^\perp)^\top W = 0`), so the network is unchanged on
  the data by that part;
* ties and duplicate samples: inputs are deduplicated first (a duplicate adds no constraint);
  remaining ties are broken by sample index in both the batched code and the reference;
* degenerate choices (the :math:`r - 1` inputs span less than :math:`r - 1` dimensions): the null
  space has dimension > 1 and the neuron becomes the projection of the original neuron onto it, the
  closest exact normal; a neuron that is already exact is therefore returned unchanged.

All neurons are processed at once, in chunks of neurons to bound memory: one float32 matrix product
and ``topk`` propose candidates, float64 re-ranks them (with a certified error bound, else an exact
fallback), and one batched LU solve gives the normals (every normal's residual checked; Cholesky projection,
then SVD, for the ones that fail).
The inputs' rank is certified full from a sample of rows where it can be (no ``n x d`` Gram matrix then).
:func:`polish_layer_reference` is the per-neuron loop (full sort, SVD) used by tests and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightning_poly._validation import check_choice, check_finite, check_int
from lightning_poly.algorithms.polishing.scaling import normalise_neurons
from lightning_poly.nn.homogeneous import augment

__all__ = ["PolishResult", "neuron_sample_cosines", "polish_layer", "polish_layer_reference"]


@dataclass
class PolishResult:
    """Polished neurons.

    Attributes:
        weight: ``(m, d)`` new weights.
        bias: ``(m,)`` new biases (``None`` for bias-free layers).
        indices: ``(m, r - 1)`` the inputs each neuron is orthogonal to (its explanation), indices
            into the ``inputs`` given.
        rank: ``r``, rank of the (augmented) input matrix.
        residual: ``(m,)`` largest :math:`|\\tilde x_i^\\top \\tilde w_j| / \\|\\tilde w_j\\|` over the chosen inputs (≈ 0).
        cosine: ``(m,)`` cosine between each neuron before and after (orientation kept: > 0).
    """

    weight: torch.Tensor
    bias: torch.Tensor | None
    indices: torch.Tensor
    rank: int
    residual: torch.Tensor
    cosine: torch.Tensor


def _augmented(
    weight: torch.Tensor, bias: torch.Tensor | None, inputs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked float64 :math:`\tilde X = (X, 1)` and :math:`\tilde W = (W, b)` (no column added without bias)."""
    if weight.ndim != 2 or inputs.ndim != 2 or inputs.shape[1] != weight.shape[1]:
        raise ValueError(
            f"`inputs` must have shape (n, {weight.shape[1] if weight.ndim == 2 else 'd'}) to match "
            f"`weight` (m, d), got inputs {tuple(inputs.shape)} and weight {tuple(weight.shape)}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"`bias` must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    check_finite("inputs", inputs)
    check_finite("weight", weight)
    x = inputs.detach().double()
    w = weight.detach().double()
    if bias is not None:
        check_finite("bias", bias)
        x = augment(x)
        w = torch.cat([w, bias.detach().double().to(w.device)[:, None]], dim=1)
    return x, w


@torch.no_grad()
def neuron_sample_cosines(weight: torch.Tensor, bias: torch.Tensor | None, inputs: torch.Tensor) -> torch.Tensor:
    r""":math:`|\cos|` between every input and every neuron of a layer, both augmented: polishing's step 1, normalised.

    .. math::
        c_{ij} = \frac{|\tilde x_i^\top \tilde w_j|}{\|\tilde x_i\| \, \|\tilde w_j\|},
        \qquad \tilde x = (x, 1), \ \tilde w = (w, b).

    Wedge-products paper, Figure 10(b): after training, many of these are small (:math:`10^{-2}` to
    :math:`10^{-3}`), i.e. neurons nearly pass through some samples, which polishing makes exact
    (:func:`polish_layer`). A zero neuron has cosine 0 with every input.

    Args:
        weight: ``(m, d)`` layer weights.
        bias: ``(m,)`` or ``None`` (bias-free neurons: no augmentation).
        inputs: ``(n, d)`` what reaches the layer.

    Returns:
        ``(n, m)`` float64 cosines in ``[0, 1]``.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> c = neuron_sample_cosines(torch.tensor([[1.0, 0.0]]), torch.tensor([-1.0]), x)
        >>> [round(v, 6) for v in c.flatten().tolist()]  # the neuron x1 = 1 passes through the first input
        [0.0, 0.5]
    """
    x, w = _augmented(weight, bias, inputs)
    x_norm = x.norm(dim=1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    w_norm = w.norm(dim=1).clamp_min(torch.finfo(w.dtype).tiny)
    return ((x @ w.T) / (x_norm * w_norm)).abs().clamp_max(1.0)


def _prepare(
    weight: torch.Tensor, bias: torch.Tensor | None, inputs: torch.Tensor, rank_tol: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]:
    x, w = _augmented(weight, bias, inputs)
    uniq, first = _unique_rows(x)
    if _full_rank_certified(uniq, rank_tol):  # no reduction needed (identity basis): skip the n x d~ Gram matrix
        r = uniq.shape[1]
        return uniq, w, torch.eye(r, dtype=uniq.dtype, device=uniq.device), first, r
    # row space and rank from the small Gram matrix (d~ x d~): singular values are sqrt(eigenvalues)
    evals, evecs = torch.linalg.eigh(uniq.T @ uniq)
    order = torch.argsort(evals, descending=True)
    s, vh = evals[order].clamp_min(0).sqrt(), evecs[:, order].T
    r = int((s > rank_tol * s[0]).sum()) if len(s) else 0
    if r < 2:
        raise ValueError(f"polishing needs inputs of rank >= 2 (after augmentation), got rank {r}")
    if len(uniq) < r - 1:
        raise ValueError(f"polishing needs at least r - 1 = {r - 1} distinct inputs, got {len(uniq)}")
    if r == uniq.shape[1]:  # full rank: no reduction needed (identity basis)
        return uniq, w, torch.eye(r, dtype=uniq.dtype, device=uniq.device), first, r
    v = vh[:r].T  # (d~, r) basis of the row space
    return uniq @ v, w @ v, v, first, r


def _full_rank_certified(x: torch.Tensor, rank_tol: float) -> bool:
    r"""Whether ``x`` (n, d) certainly has every singular value above ``rank_tol`` times the largest, from a sample of
    its rows: :math:`X^\top X \succeq S^\top S` for rows ``S`` of ``X``, so :math:`\sigma_{min}(X)^2 \ge
    \lambda_{min}(S^\top S)`, and :math:`\sigma_{max}(X)^2 \le \|X\|_F^2`. ``False`` means "not certified" (the
    caller computes the rank from the whole Gram matrix), never "rank-deficient"."""
    n, d = x.shape
    if n < 4 * d:
        return False
    step = n // (4 * d)
    sample = x[:: max(step, 1)][: 4 * d]
    lam_min = float(torch.linalg.eigvalsh(sample.T @ sample)[0])
    frob2 = float(torch.linalg.vector_norm(x) ** 2)
    return lam_min > 2 * rank_tol**2 * frob2  # the factor 2: room for the eigenvalue's own rounding


def _unique_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct rows in order of first appearance, and their index in ``x``.

    Rows are hashed by a random projection; only rows with equal hashes are compared exactly, so
    this costs one matrix-vector product and one sort of scalars.
    """
    n = len(x)
    key = x @ torch.randn(x.shape[1], generator=torch.Generator().manual_seed(0), dtype=x.dtype).to(x.device)
    ks, order = torch.sort(key, stable=True)
    tie = ks[1:] == ks[:-1]
    if not bool(tie.any()):  # distinct hashes: distinct rows (the rows are gathered only when some hashes tie)
        return x, torch.arange(n, device=x.device)
    xs = x[order]
    same = torch.zeros(n, dtype=torch.bool, device=x.device)
    same[1:] = tie & (xs[1:] == xs[:-1]).all(dim=1)
    if not bool(same.any()):
        return x, torch.arange(n, device=x.device)
    # group runs of equal rows; keep the smallest original index of each run
    group = torch.cumsum(~same, dim=0) - 1
    first = torch.full((int(group[-1]) + 1,), n, dtype=torch.long, device=x.device)
    first.scatter_reduce_(0, group, order, reduce="amin")
    first = first.sort().values
    return x[first], first


def _normal(samples: torch.Tensor, w: torch.Tensor, null_tol: float) -> torch.Tensor:
    """Projection of ``w`` (..., r) onto the null space of ``samples`` (..., r-1, r); unit norm."""
    _, s, vh = torch.linalg.svd(samples, full_matrices=True)
    r = samples.shape[-1]
    smax = s[..., :1].clamp_min(1e-300)
    in_null = torch.cat([s <= null_tol * smax, torch.ones_like(s[..., :1], dtype=torch.bool)], dim=-1)  # (..., r)
    coef = torch.einsum("...kr,...r->...k", vh, w) * in_null
    proj = torch.einsum("...k,...kr->...r", coef, vh)
    last = vh[..., r - 1, :]
    last = last * torch.where(torch.einsum("...r,...r->...", last, w) < 0, -1.0, 1.0)[..., None]
    norm = proj.norm(dim=-1, keepdim=True)
    return torch.where(norm > 1e-12 * w.norm(dim=-1, keepdim=True), proj / norm.clamp_min(1e-300), last)


def _normal_fast(samples: torch.Tensor, w: torch.Tensor, null_tol: float) -> torch.Tensor:
    """As :func:`_normal`, by the projection ``w - S^T (S S^T)^{-1} S w`` (batched Cholesky); neurons
    whose Gram matrix is ill-conditioned or whose result fails the residual check use the SVD."""
    gram = samples @ samples.mT
    chol, info = torch.linalg.cholesky_ex(gram)
    diag = torch.diagonal(chol, dim1=-2, dim2=-1)
    ok = (info == 0) & (diag.min(dim=-1).values > 1e-5 * diag.max(dim=-1).values)
    sw = torch.einsum("ckr,cr->ck", samples, w)
    coef = torch.cholesky_solve(
        sw[..., None],
        torch.where(ok[:, None, None], chol, torch.eye(chol.shape[-1], dtype=chol.dtype, device=chol.device)),
    )[..., 0]
    proj = w - torch.einsum("ckr,ck->cr", samples, coef)
    norm = proj.norm(dim=-1, keepdim=True)
    out = proj / norm.clamp_min(1e-300)
    resid = torch.einsum("ckr,cr->ck", samples, out).abs().max(dim=-1).values / samples.norm(dim=-1).max(dim=-1).values
    ok &= (norm[:, 0] > 1e-8 * w.norm(dim=-1)) & (resid < 1e-9)
    if not bool(ok.all()):
        bad = ~ok
        out[bad] = _normal(samples[bad], w[bad], null_tol)
    return out


def _normal_lu(samples: torch.Tensor, w: torch.Tensor, null_tol: float) -> torch.Tensor:
    """As :func:`_normal_fast` for ``r - 1`` samples, by one batched LU solve: the normal is :math:`n_j = 1` at the
    coordinate ``j`` where ``w`` is largest (where the normal of a nearby neuron is far from 0) and the other
    coordinates solve :math:`S_{:, -j} n_{-j} = -S_{:, j}` (no Gram product: ~3x fewer flops than the projection).
    Neurons whose LU is ill-conditioned (a null space of dimension > 1 in reach) or whose residual fails the
    check use :func:`_normal_fast`."""
    c, k, r = samples.shape
    if k != r - 1 or c == 0:
        return _normal_fast(samples, w, null_tol)
    rows = torch.arange(c, device=w.device)
    j = w.abs().argmax(dim=1)
    perm = torch.arange(r, device=w.device).repeat(c, 1)
    perm[rows, j] = r - 1
    perm[:, r - 1] = j
    sp = torch.gather(samples, 2, perm[:, None, :].expand(c, k, r))
    lu, piv, info = torch.linalg.lu_factor_ex(sp[..., :k])
    diag = torch.diagonal(lu, dim1=-2, dim2=-1).abs()
    ok = (info == 0) & (diag.min(dim=-1).values > 1e-5 * diag.max(dim=-1).values)
    eye = torch.eye(k, dtype=lu.dtype, device=lu.device)
    a = torch.linalg.lu_solve(torch.where(ok[:, None, None], lu, eye), piv, -sp[..., k:])[..., 0]
    out = torch.empty_like(w).scatter_(1, perm, torch.cat([a, torch.ones_like(a[:, :1])], 1))
    out = out * torch.where((out * w).sum(1) < 0, -1.0, 1.0)[:, None]
    norm = out.norm(dim=1, keepdim=True)
    out = out / norm + 0.0  # (+ 0.0: no negative zeros from the solve)
    resid = torch.einsum("ckr,cr->ck", samples, out).abs().max(dim=-1).values / samples.norm(dim=-1).max(dim=-1).values
    ok &= torch.isfinite(norm[:, 0]) & (resid < 1e-9) & ((out * w).sum(1) > 1e-8 * w.norm(dim=1))
    if not bool(ok.all()):
        bad = ~ok
        out[bad] = _normal_fast(samples[bad], w[bad], null_tol)
    return out


def _select(z: torch.Tensor, w: torch.Tensor, k: int, z32: torch.Tensor | None = None) -> torch.Tensor:
    """Indices ``(c, k)`` of the ``k`` smallest ``|z w_j|`` per neuron, exactly as a float64 sort would
    pick them: candidates come from a float32 product, and neurons whose float32 error could change
    the choice are recomputed in float64."""
    c = w.shape[0]
    extra = min(len(z) - k, max(8, k // 4))
    z32 = z.float() if z32 is None else z32
    ip32 = (w.float() @ z32.T).abs_()  # (c, n), rows contiguous for topk
    top = torch.topk(ip32, k + extra, dim=1, largest=False, sorted=False)
    cand = top.indices  # (c, k+extra)
    exact = torch.einsum("ckr,cr->ck", z[cand], w).abs()
    order = torch.sort(exact, dim=1, stable=True)
    pick = torch.gather(cand, 1, order.indices[:, :k])
    # certified if the k-th exact value is below every non-candidate's value (float32 error bound)
    err = 4 * z.shape[1] * torch.finfo(torch.float32).eps * z.norm(dim=1).max() * w.norm(dim=1)
    outside = top.values.max(dim=1).values - err  # lower bound of every value outside the candidates
    kth = order.values[:, k - 1]
    # equal values at the boundary: break ties by index like the reference's stable sort
    unsure = ~(kth < outside) | (kth == order.values[:, min(k, order.values.shape[1] - 1)])
    if bool(unsure.any()):
        ip = (z @ w[unsure].T).abs()
        pick[unsure] = torch.sort(ip, dim=0, stable=True).indices[:k].T
    assert pick.shape == (c, k)
    return pick


def _finish(
    w_red: torch.Tensor, v: torch.Tensor, w_orig: torch.Tensor, has_bias: bool, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor | None]:
    full = (
        w_red
        if v.shape[0] == v.shape[1] and bool((v == torch.eye(len(v), dtype=v.dtype, device=v.device)).all())
        else w_red @ v.T
    )
    full = full * w_orig.norm(dim=1, keepdim=True)
    if has_bias:
        return full[:, :-1].to(dtype), full[:, -1].to(dtype)
    return full.to(dtype), None


@torch.no_grad()
def polish_layer(
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    inputs: torch.Tensor,
    chunk_size: int | None = None,
    rank_tol: float = 1e-6,
    null_tol: float = 1e-10,
    p: int | None = None,
) -> PolishResult:
    r"""Polish every neuron of a linear layer at once (batched; see the module docstring).

    Args:
        weight: ``(m, d)`` layer weights.
        bias: ``(m,)`` or ``None`` (bias-free neurons).
        inputs: ``(n, d)`` what reaches the layer (data for the first layer, activations deeper).
        chunk_size: neurons per batch (memory ~ ``chunk_size * n`` + ``chunk_size * r^2``); default
            256, fewer if the ``(n, chunk)`` matrix would exceed 2^23 entries.
        rank_tol: relative singular-value threshold for the rank of the inputs (computed from the
            Gram matrix, so values below ~1e-7 are not resolved).
        null_tol: relative singular-value threshold for the null space of the chosen inputs.
        p: normalise each polished neuron to :math:`\|w_j\|_p = 1` (1 or 2); ``None`` keeps its original norm.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> res = polish_layer(torch.tensor([[0.9, 0.1]]), None, x)
        >>> res.indices.tolist(), [[round(v, 4) for v in row] for row in res.weight.tolist()]
        ([[1]], [[0.9055, 0.0]])
    """
    if p is not None:
        check_choice("p", p, (1, 2))
    z, w_red, v, first, r = _prepare(weight, bias, inputs, rank_tol)
    if chunk_size is None:  # 64-256 were fastest on a 2-core CPU; fewer for huge n
        chunk_size = max(1, min(256, 2**23 // max(len(z), 1)))
    check_int("chunk_size", chunk_size, minimum=1)
    m = w_red.shape[0]
    new = torch.empty_like(w_red)
    idx = torch.empty(m, r - 1, dtype=torch.long, device=z.device)
    residual = torch.empty(m, dtype=z.dtype, device=z.device)
    z32 = z.float()
    for sl in torch.arange(m, device=z.device).split(chunk_size):
        pick = _select(z, w_red[sl], r - 1, z32).sort(dim=1).values  # (c, r-1)
        chosen = z[pick]
        new[sl] = _normal_lu(chosen, w_red[sl], null_tol)
        idx[sl] = pick
        residual[sl] = torch.einsum("ckr,cr->ck", chosen, new[sl]).abs().max(dim=1).values
    w_full = weight.detach().double() if bias is None else torch.cat([weight.double(), bias.double()[:, None]], 1)
    new_w, new_b = _finish(new, v, w_full, bias is not None, weight.dtype)
    if p is not None:
        new_w, new_b = normalise_neurons(new_w, new_b, p)
    cosine = torch.nn.functional.cosine_similarity(new, w_red, dim=1)
    return PolishResult(new_w, new_b, first[idx], r, residual, cosine)


@torch.no_grad()
def polish_layer_reference(
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    inputs: torch.Tensor,
    rank_tol: float = 1e-6,
    null_tol: float = 1e-10,
) -> PolishResult:
    """The same polishing with a straightforward loop over neurons (test oracle and benchmark baseline).

    Each neuron: inner products with every input, a full sort, the first ``r - 1`` inputs, and the
    null space of those inputs from that neuron's own SVD.

    Args:
        weight: ``(m, d)`` layer weights.
        bias: ``(m,)`` or ``None``.
        inputs: ``(n, d)`` what reaches the layer.
        rank_tol: relative singular-value threshold for the rank of the inputs.
        null_tol: relative singular-value threshold for the null space of the chosen inputs.
    """
    z, w_red, v, first, r = _prepare(weight, bias, inputs, rank_tol)
    rows, picks = [], []
    for j in range(w_red.shape[0]):
        ip = (z @ w_red[j]).abs()
        order = torch.sort(ip, stable=True).indices[: r - 1].sort().values
        rows.append(_normal(z[order], w_red[j], null_tol))
        picks.append(order)
    new = torch.stack(rows)
    idx = torch.stack(picks)
    w_full = weight.detach().double() if bias is None else torch.cat([weight.double(), bias.double()[:, None]], 1)
    new_w, new_b = _finish(new, v, w_full, bias is not None, weight.dtype)
    residual = torch.stack([(z[idx[j]] @ new[j]).abs().max() for j in range(len(new))])
    cosine = torch.nn.functional.cosine_similarity(new, w_red, dim=1)
    return PolishResult(new_w, new_b, first[idx], r, residual, cosine)
