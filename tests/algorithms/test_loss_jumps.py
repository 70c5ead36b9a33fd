"""Appendix D: the optimal loss of data not in general position jumps under a small perturbation."""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest

from lightning_poly.data import loss_jump_new_vertex, loss_jump_program
from lightning_poly.geometry import general_position


def _single_relu_l1_erm(u: np.ndarray, y: np.ndarray) -> tuple[float, tuple[int, ...]]:
    """Exact ERM of one ReLU phi(w . u_i) (output weight 1, no output bias) under the mean absolute loss:
    program (3) with L1 loss on every sign pattern, closed cones (the data are not in general position)."""
    best = (np.inf, ())
    for pattern in itertools.product((0, 1), repeat=len(u)):
        a = np.array(pattern, dtype=bool)
        w = cp.Variable(u.shape[1])
        pred = cp.multiply(a.astype(float), u @ w)
        cons = [u[a] @ w >= 0] if a.any() else []
        if (~a).any():
            cons.append(u[~a] @ w <= 0)
        prob = cp.Problem(cp.Minimize(cp.sum(cp.abs(pred - y)) / len(y)), cons)
        prob.solve(solver=cp.CLARABEL)
        if prob.status == "optimal" and prob.value < best[0] - 1e-9:
            best = (float(prob.value), tuple(int(i) for i in np.flatnonzero(a)))
    return best


def _affine(x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))])


def test_d1_the_program_of_one_vertex_jumps() -> None:
    x, y = loss_jump_program()
    assert not general_position(x).ok
    loss, active = _single_relu_l1_erm(_affine(x.numpy()), y.numpy())
    assert loss == pytest.approx(0.1, abs=1e-6) and active == (0, 1, 2, 3, 4)  # the appendix's values
    for eps in (1e-1, 1e-3):
        xe, ye = loss_jump_program(eps)
        loss_e, active_e = _single_relu_l1_erm(_affine(xe.numpy()), ye.numpy())
        assert loss_e == pytest.approx(0.0, abs=1e-6) and active_e == (0, 1, 2, 3, 4)  # same vertex, loss 0
        w = np.array([1.0, -1 / (2 * eps), 0.0])  # the appendix's exact fit
        assert np.maximum(_affine(xe.numpy()) @ w, 0) == pytest.approx(ye.numpy())


def test_d2_a_new_vertex_appears() -> None:
    x, y = loss_jump_new_vertex()
    assert not general_position(x[:, :2], tol=1e-9).ok or not general_position(x).ok
    loss, active = _single_relu_l1_erm(x.numpy(), y.numpy())
    assert loss == pytest.approx(1.25, abs=1e-6) and active == (1, 2)  # {x_2, x_3}
    for eps in (1e-1, 1e-3):
        xe, ye = loss_jump_new_vertex(eps)
        loss_e, active_e = _single_relu_l1_erm(xe.numpy(), ye.numpy())
        assert loss_e == pytest.approx(0.625, abs=1e-6) and active_e == (0, 1, 2, 3)
        w = np.array([-1.5, 0.5, 11 / (2 * eps)])
        assert np.abs(np.maximum(xe.numpy() @ w, 0) - ye.numpy()).mean() == pytest.approx(0.625)
    # without the perturbation no weight activates all four points (the vertex does not exist)
    w = cp.Variable(3)
    prob = cp.Problem(cp.Maximize(cp.min(x.numpy() @ w)), [cp.norm(w, "inf") <= 1])
    prob.solve(solver=cp.CLARABEL)
    assert prob.value <= 1e-9


def test_bad_perturbations_are_refused() -> None:
    with pytest.raises(ValueError, match="`eps` must be a finite number >= 0, got -1"):
        loss_jump_program(-1)
