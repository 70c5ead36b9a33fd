"""The convex gated networks paper's studies ("NTK with convex two-layer ReLU networks", Section 7).

* :func:`circle_margins`: the alternating circle, γ = Θ(1/n) with one gate per cone (exact SOCP and Lemma 6.1's
  descent estimate side by side), and how often Gaussian gates of small width leave the data unseparated by the best
  weights chosen *after* the gates: the adaptive separator, the open question Theorem 7.2 leaves (not the theorem);
* :func:`fixed_separator_failures`: Theorem 7.2 as stated: one separator v̄ fixed before the gates are drawn, and how
  often width-``m`` Gaussian gates misclassify a point with it;
* :func:`cube_parity_study`: the parity cube: a convex network with data gates classifies all 8 points, standard
  two-layer ReLU networks without bias never do (Theorem 7.3);
* :func:`spiral_comparison`: convex gated training (exact ADMM and GroupFISTA in a ``Trainer``) beside a standard
  MLP on the spiral;
* :func:`fashion_comparison`: the exact convex gated network beside a standard MLP on Fashion-MNIST tasks.

Each study calls ``on_row`` with a row (a dict) as it ends, so a script prints as it goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pytorch_lightning as pl
import torch

from lightning_poly._validation import check_fraction, check_int, check_int_tuple, check_positive
from lightning_poly.algorithms.ntk_margin_descent import ntk_margin_by_descent
from lightning_poly.data import alternating_circle, cube_parity, spiral
from lightning_poly.datamodules import ArrayDataModule
from lightning_poly.geometry.cones import cones_2d, data_gates, gaussian_gates
from lightning_poly.modules import ConvexGatedReLUModule, ReLUMLPModule
from lightning_poly.nn.homogeneous import augment
from lightning_poly.pipelines.training import quiet_trainer
from lightning_poly.solvers.gated_lasso import gated_lasso_admm, gated_output
from lightning_poly.solvers.ntk_margin import ntk_margin

__all__ = ["circle_margins", "cube_parity_study", "fashion_comparison", "fixed_separator_failures", "spiral_comparison"]

Row = dict[str, Any]
OnRow = Callable[[Row], None] | None


def circle_margins(
    *,
    ns: Sequence[int],
    trials: int,
    widths: Sequence[int] = (4, 16, 64),
    eps: float | None = 0.25,
    on_row: OnRow = None,
) -> list[Row]:
    """The alternating circle of ``n`` points: the exact margin γ_X with one gate per cone (:func:`cones_2d`, SOCP)
    beside its descent estimate (:func:`ntk_margin_by_descent`, Lemma 6.1's stopping rule, ``(1 - eps) γ_X <= estimate
    <= γ_X`` when ``descent_certified``; ``eps=None`` skips it), and, for each width ``m``, in how many of ``trials``
    draws of ``m`` Gaussian gates the best margin (the SOCP over W *after* the gates are drawn: an adaptive separator)
    is ≤ 0. This probes the open question Theorem 7.2 leaves, whether adaptive separators need less width; the theorem
    itself, for a fixed separator, is :func:`fixed_separator_failures`.

    A solver error is counted apart (``errors``), never as a failure.
    """
    check_int("trials", trials, minimum=1)
    check_int_tuple("widths", widths)
    if eps is not None:
        check_fraction("eps", eps)
    rows = []
    for n in ns:
        x, y = (t.double() for t in alternating_circle(n, signed=True))
        gates, measure = cones_2d(x)
        gamma, _ = ntk_margin(x, y, gates, measure)
        est = None if eps is None else ntk_margin_by_descent(x, y, gates, measure, eps=eps)
        failures, errors = [], []
        for m in widths:
            bad = err = 0
            for seed in range(trials):
                try:
                    g, _ = ntk_margin(x, y, gaussian_gates(m, 2, seed=seed))
                    bad += g <= 1e-9
                except RuntimeError:
                    err += 1
            failures.append(bad)
            errors.append(err)
        row = {"n": n, "cones": len(gates), "gamma": gamma, "n_gamma": n * gamma, "widths": list(widths),
               "failures": failures, "errors": errors, "trials": trials, "separator": "adaptive",
               "gamma_descent": None if est is None else est.gamma,
               "descent_certified": None if est is None else est.certified,
               "descent_iterations": None if est is None else est.iterations}  # fmt: skip
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def _cone_separator(x: torch.Tensor, cone_gates: torch.Tensor, weights: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``(m, d)`` values :math:`\\bar v(z_s)` of the separator constant on each data cone: ``weights[k]`` for a gate
    ``z_s`` with the activation pattern of ``cone_gates[k]``, 0 for one on a cone's boundary (measure zero)."""
    index = {bytes(p): k for k, p in enumerate((x @ cone_gates.T > 0).T.to(torch.uint8).numpy())}
    out = torch.zeros(len(z), x.shape[1], dtype=torch.float64)
    for s, p in enumerate((x @ z.T > 0).T.to(torch.uint8).numpy()):
        k = index.get(bytes(p))
        if k is not None:
            out[s] = weights[k]
    return out


def fixed_separator_failures(
    *, ns: Sequence[int], trials: int, widths: Sequence[int] = (4, 16, 64, 256), on_row: OnRow = None
) -> list[Row]:
    """Theorem 7.2 as stated, on the alternating circle of ``n`` points (``n`` divisible by 4).

    The separator is fixed before any gate is drawn (non-adaptive): :math:`\\bar v \\in \\mathcal F_B`, the optimal
    one of Definition 4.1, constant on each data cone of :math:`S_0` (:func:`cones_2d`) with the SOCP's weights
    (``γ_v̄ = γ_X``). Then, for each width ``m`` and each of ``trials`` draws of ``m`` Gaussian gates
    :math:`w_1, \\dots, w_m`, the draw *fails* when some point has

    .. math:: \\frac1m \\sum_{s=1}^m y_i \\langle \\bar v(w_s), x_i\\rangle \\mathbf 1[\\langle x_i, w_s\\rangle > 0] \\le 0,

    the event the theorem says has constant probability when :math:`m \\le c_0 \\gamma_X^{-2}`. Rows give
    ``failures`` per width and ``m_gamma2`` (:math:`m\\gamma_X^2`, the theorem's scale). The one SOCP per ``n`` is the
    only solver call: if it fails the row says so (``error``) and has no counts; it is never counted as a failure.

    Args:
        ns: circle sizes, each divisible by 4 (the theorem's assumption).
        trials: draws of the gates per width.
        widths: network widths ``m``.
        on_row: called with each row as it ends.

    Example:
        >>> rows = fixed_separator_failures(ns=[8], trials=20, widths=(2, 512))
        >>> rows[0]["failures"][0] > rows[0]["failures"][1] == 0
        True
    """
    check_int("trials", trials, minimum=1)
    check_int_tuple("widths", widths)
    for n in check_int_tuple("ns", ns, minimum=4):
        if n % 4:
            raise ValueError(f"`ns` must hold multiples of 4 (Theorem 7.2's assumption), got {n}")
    rows = []
    for n in ns:
        x, y = (t.double() for t in alternating_circle(n, signed=True))
        cone_gates, measure = cones_2d(x)
        row: Row = {"n": n, "cones": len(cone_gates), "widths": list(widths), "trials": trials, "separator": "fixed"}
        try:
            gamma, weights = ntk_margin(x, y, cone_gates, measure)
        except RuntimeError as exc:  # reported apart, never as a failure
            row.update(error=str(exc), gamma=None, failures=None, m_gamma2=None)
        else:
            failures = []
            for m in widths:
                bad = 0
                for seed in range(trials):
                    z = gaussian_gates(m, 2, seed=1_000_003 * m + seed)  # drawn after v̄ is fixed
                    vz = _cone_separator(x, cone_gates, weights, z)
                    out = ((x @ z.T > 0).double() * (x @ vz.T)).mean(dim=1) * y
                    bad += bool((out <= 0).any())
                failures.append(bad)
            row.update(error=None, gamma=gamma, failures=failures, m_gamma2=[m * gamma**2 for m in widths])
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def cube_parity_study(*, widths: Sequence[int], seeds: int, epochs: int, on_row: OnRow = None) -> Row:
    """The parity cube: the convex network with 64 data gates (orthogonal to data points) — its margin and how many
    of the 8 points it classifies — and standard bias-free two-layer ReLU networks trained with Adam (lr 0.05,
    batch 8, BCE) at each width over ``seeds`` seeds: the most points any of them classifies."""
    check_int("seeds", seeds, minimum=1)
    x, y = cube_parity(signed=True)
    x = x.double()
    gates = data_gates(x, 64, seed=0)
    gamma, w = ntk_margin(x, y.double(), gates)
    act = (x @ gates.T > 0).double() / 64
    result: Row = {"gamma": gamma, "convex_correct": int((gated_output(x, act, w) * y > 0).sum()), "widths": []}
    best = 0
    start = time.perf_counter()
    for width in widths:
        for seed in range(seeds):
            pl.seed_everything(seed, verbose=False)
            dm = ArrayDataModule(x.float(), (y > 0).long(), val_fraction=0.0, batch_size=8)
            model = ReLUMLPModule(input_dim=3, hidden=[width], bias=False, lr=0.05)
            quiet_trainer(epochs).fit(model, dm)
            best = max(best, int((model.predict_labels(x.float()) == (y > 0).long()).sum()))
        row = {"width": width, "best_so_far": best}
        result["widths"].append(row)
        if on_row is not None:
            on_row(row)
    result.update(best=best, seconds=time.perf_counter() - start)
    return result


def spiral_comparison(*, n: int, gates: int, lam: float, epochs: int, on_row: OnRow = None) -> list[Row]:
    """The spiral of ``n`` points (±1 targets, squared loss): the convex gated network with ``gates`` Gaussian gates
    solved exactly (ADMM, relative gap 1e-6), the same trained by GroupFISTA in a ``Trainer`` (its certificate), and
    a standard MLP of the same width (Adam lr 1e-2, MSE); train accuracy and time of each."""
    check_positive("lam", lam)
    x, y = spiral(n, seed=0, signed=True)
    y = y.float()
    dm = ArrayDataModule(x, y, task="regression", val_fraction=0.0, batch_size=0)
    xt = augment(x.double(), True)
    g = gaussian_gates(gates, 3, seed=0)
    mask = (xt @ g.T > 0).double()
    rows = []

    def done(row: Row) -> None:
        rows.append(row)
        if on_row is not None:
            on_row(row)

    t0 = time.perf_counter()
    exact = gated_lasso_admm(xt, mask, y.double(), lam, rel_gap=1e-6)
    acc = float((gated_output(xt, mask, exact.weight).sign() == y.double()).double().mean())
    done({"method": "convex gated, exact (ADMM)", "objective": exact.objective, "rel_gap": exact.rel_gap,
          "train_acc": acc, "seconds": time.perf_counter() - t0})  # fmt: skip
    t0 = time.perf_counter()
    conv = ConvexGatedReLUModule(input_dim=2, n_gates=gates, lam=lam, seed=0)
    quiet_trainer(epochs).fit(conv, dm)
    cert = conv.certificate()
    acc = float((conv(x).detach()[:, 0].sign() == y).float().mean())
    done({"method": "convex gated, GroupFISTA in Lightning", "objective": cert["objective"],
          "rel_gap": cert["rel_gap"], "train_acc": acc, "seconds": time.perf_counter() - t0})  # fmt: skip
    t0 = time.perf_counter()
    pl.seed_everything(0, verbose=False)
    mlp = ReLUMLPModule(input_dim=2, hidden=[gates], loss="mse", lr=1e-2)
    quiet_trainer(epochs).fit(mlp, dm)
    acc = float((mlp(x).detach()[:, 0].sign() == y).float().mean())
    done({"method": "standard MLP (Adam, MSE)", "train_acc": acc, "seconds": time.perf_counter() - t0})
    return rows


def fashion_comparison(*, n: int, d: int, gates: int, lam: float, epochs: int, on_row: OnRow = None) -> list[Row]:
    """Fashion-MNIST one-vs-rest class 0 and pair 0 vs 6 on ``d`` PCA components, ``n`` training points: the exact
    convex gated network (ADMM, relative gap 1e-4) and the ReLU network built from it (checked to predict the
    same on the training points), beside a standard MLP of the same width (Adam lr 1e-3, batch 128, MSE)."""
    from lightning_poly.datamodules import FashionMNISTDataModule
    from lightning_poly.nn.convert import gated_to_relu
    from lightning_poly.nn.gated import GatedReLU

    rows = []
    tasks: tuple[tuple[str, dict[str, Any]], ...] = (
        ("one-vs-rest class 0", {"task": "one_vs_rest", "positive_class": 0}),
        ("pair 0 vs 6", {"task": "pair", "pair": (0, 6)}),
    )
    for task, kw in tasks:
        dm = FashionMNISTDataModule(pca_components=d, val_fraction=0.0, **kw)
        dm.prepare_data()
        dm.setup()
        x, y = dm.train_tensors()
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:n]
        x, y = x[idx].double(), (2.0 * y[idx] - 1).double()
        xte, yte = dm.data_test.tensors  # type: ignore[union-attr]
        xte, yte = xte.double(), 2.0 * yte.double() - 1
        g = gaussian_gates(gates, d + 1, seed=0)
        xt = augment(x, True)
        mask = (xt @ g.T > 0).double()
        t0 = time.perf_counter()
        sol = gated_lasso_admm(xt, mask, y, lam, rel_gap=1e-4)
        t_convex = time.perf_counter() - t0
        net = GatedReLU(g, bias=True).double()
        with torch.no_grad():
            net.weight.copy_(sol.weight[None])
        same = bool(torch.allclose(gated_to_relu(net, x)(x), net(x), atol=1e-6))
        acc_convex = float((net(xte)[:, 0].sign() == yte).double().mean())
        t0 = time.perf_counter()
        pl.seed_everything(0, verbose=False)
        mlp = ReLUMLPModule(input_dim=d, hidden=[gates], loss="mse", lr=1e-3)
        quiet_trainer(epochs).fit(mlp, ArrayDataModule(x.float(), y.float(), task="regression", val_fraction=0.0,
                                                        batch_size=128))  # fmt: skip
        acc_mlp = float((mlp(xte.float()).detach()[:, 0].sign() == yte.float()).float().mean())
        row = {"task": task, "rel_gap": sol.rel_gap, "convex_test_acc": acc_convex, "convex_seconds": t_convex,
               "mlp_test_acc": acc_mlp, "mlp_seconds": time.perf_counter() - t0, "relu_same": same}  # fmt: skip
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
