"""Program (3) and the searches over activation patterns (zonotope paper, Algorithms 1-3, Theorem 4.3)."""

from __future__ import annotations

import pytest
import torch

from lightning_poly.algorithms.exact_fit import exact_fit_network
from lightning_poly.algorithms.vertex_search import (
    exact_erm,
    greedy_local_search,
    modified_greedy_local_search,
    neighbour_programs,
)
from lightning_poly.data import teacher_relu
from lightning_poly.geometry.zonotope import (
    activation_pattern,
    cone_margin,
    facet_rows,
    random_vertex,
    vertex_neighbors,
)
from lightning_poly.nn.homogeneous import homogeneous_points
from lightning_poly.solvers.vertex_program import vertex_loss, vertex_program, vertex_program_cvxpy


def _relu_loss(x, y, weight, c, v, loss):  # type: ignore[no-untyped-def]
    """The loss of the real network v^T relu(W x) + c."""
    return float(vertex_loss(torch.relu(homogeneous_points(x) @ weight.T) @ v + c, y.double(), loss))


@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("output_bias", [True, False])
def test_batched_solver_matches_cvxpy_with_a_certificate_and_returns_a_real_network(
    loss: str, output_bias: bool
) -> None:
    x, y = teacher_relu(d=3, m_gen=4, seed=3)
    y = y.double() if loss == "squared" else (y > y.median()).double()
    v = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    pats = torch.stack([random_vertex(x, 4, seed=s)[0] for s in range(5)])
    sol = vertex_program(x, y, pats, v, loss=loss, output_bias=output_bias)  # type: ignore[arg-type]
    for b in range(len(pats)):
        ref = vertex_program_cvxpy(x, y, pats[b], v, loss=loss, output_bias=output_bias)  # type: ignore[arg-type]
        # 1e-6 relative, with a floor at cvxpy's own accuracy (its tolerances are absolute ~1e-9)
        assert abs(float(sol.objective[b] - ref.objective[0])) <= 1e-6 * abs(float(ref.objective[0])) + 1e-9
        assert float(sol.gap[b]) <= 1e-9 * (1 + abs(float(sol.objective[b])))
        # the weights are a real network: strictly inside the region, and its ReLU loss is the reported one
        assert torch.equal(homogeneous_points(x) @ sol.weight[b].T > 0, pats[b].T)
        real = _relu_loss(x, y, sol.weight[b], sol.output_bias[b], v, loss)
        assert real == pytest.approx(float(sol.loss[b]), rel=1e-9, abs=1e-12)


def test_facet_rows_alone_give_the_same_optimum_inside_every_row() -> None:
    x, y = teacher_relu(d=3, m_gen=4, seed=3)
    y = (y > y.median()).double()
    v = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    pats = torch.stack([random_vertex(x, 4, seed=s)[0] for s in range(5)])
    rows = torch.stack([facet_rows(vertex_neighbors(x, p), tuple(p.shape)) for p in pats])
    assert not bool(rows.all())  # some rows are implied by the facets
    full = vertex_program(x, y, pats, v, loss="logistic")
    few = vertex_program(x, y, pats, v, loss="logistic", rows=rows)
    assert bool((few.gap <= 1e-9 * (1 + few.objective.abs())).all())
    assert bool(((few.objective - full.objective).abs() <= few.gap + full.gap).all())  # both certified
    assert bool((few.multipliers[~rows] == 0).all())
    for b in range(len(pats)):  # every row, not only the facets, holds strictly
        assert torch.equal(homogeneous_points(x) @ few.weight[b].T > 0, pats[b].T)
    with pytest.raises(ValueError, match="`rows` must keep at least one row of every unit"):
        vertex_program(x, y, pats, v, loss="logistic", rows=torch.zeros_like(rows))
    with pytest.raises(ValueError, match=r"`rows` must be bool \(4, 16\) or \(5, 4, 16\)"):
        vertex_program(x, y, pats, v, loss="logistic", rows=rows[:, :2])


def test_searches_on_a_tiny_problem_respect_the_order_exact_gls_start_and_beat_gradient_descent() -> None:
    x, y = teacher_relu(d=2, m_gen=2, seed=0)  # N = 6
    y = y.double()
    v = torch.tensor([1.0, -1.0], dtype=torch.float64)
    exact = exact_erm(x, y, v)
    assert exact.programs == 32**2
    for seed in range(3):
        start, _ = random_vertex(x, 2, seed=seed)
        start_obj = float(vertex_program(x, y, start, v).objective[0])
        gls = greedy_local_search(x, y, v, pattern=start, max_steps=50)
        assert exact.objective <= gls.objective + 1e-9 <= start_obj + 2e-9
        assert gls.trace == sorted(gls.trace, reverse=True) and gls.stopped == "local_minimum"
        # a local minimum: no neighbour's optimum (by cvxpy) is lower
        for f in vertex_neighbors(x, gls.pattern):
            ref = vertex_program_cvxpy(x, y, f.apply(gls.pattern), v)
            assert float(ref.objective[0]) >= gls.objective - 1e-6 * (1 + gls.objective)
        mgls = modified_greedy_local_search(x, y, v, pattern=start, max_steps=50, batch=1)
        assert mgls.trace == sorted(mgls.trace, reverse=True)
        assert exact.objective <= mgls.objective + 1e-9
        assert mgls.programs < gls.programs
    # exact ERM (v fixed) is at least as good as the best of many gradient-descent runs with the same v
    best_gd = float("inf")
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        w = torch.nn.init.xavier_normal_(torch.empty(2, 3, dtype=torch.float64), generator=g).requires_grad_()
        c = torch.zeros((), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([w, c], lr=0.02)
        for _ in range(1500):
            opt.zero_grad()
            out = vertex_loss(torch.relu(homogeneous_points(x) @ w.T) @ v + c, y, "squared")
            out.backward()
            opt.step()
        best_gd = min(best_gd, _relu_loss(x, y, w.detach(), c.detach(), v, "squared"))
    assert exact.loss <= best_gd + 1e-8


def test_warm_started_neighbour_programs_reach_the_cold_start_optimum() -> None:
    x, y = teacher_relu(d=3, m_gen=3, seed=2)
    v = torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)
    pat, _ = random_vertex(x, 3, seed=1)
    current = vertex_program(x, y, pat, v)
    flips = vertex_neighbors(x, pat)[:6]
    pats, sols = neighbour_programs(x, y, pat, current, flips, v)
    cold = vertex_program(x, y, pats, v)
    assert torch.allclose(sols.objective, cold.objective, rtol=1e-7, atol=1e-10)
    # only the current cones' facets for the units the neighbours share with it: the same optima
    facets = facet_rows(vertex_neighbors(x, pat), tuple(pat.shape))
    _, few = neighbour_programs(x, y, pat, current, flips, v, facets=facets, centres=cone_margin(x, pat)[1])
    assert torch.allclose(few.objective, cold.objective, rtol=1e-7, atol=1e-10)
    with pytest.raises(ValueError, match=r"`facets` must be a bool tensor \(3, 12\)"):
        neighbour_programs(x, y, pat, current, flips, v, facets=facets[:2])


@pytest.mark.parametrize(("d", "n"), [(2, 60), (4, 120), (8, 350)])
def test_theorem_4_3_fits_random_data_exactly_with_2_ceil_n_over_d_plus_1_units(d: int, n: int) -> None:
    g = torch.Generator().manual_seed(d)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    fit = exact_fit_network(x, y)
    assert len(fit.v) == 2 * -(-n // (d + 1))
    assert fit.max_abs_error <= 1e-6 * (1 + float(y.abs().max()))
    assert float(fit.weight_norms.max()) > float(fit.weight_norms.min())  # they grow along the chunks


def test_bad_input_is_refused_with_the_argument_named() -> None:
    x, y = teacher_relu(d=2, m_gen=2, seed=0)
    v = torch.tensor([1.0, -1.0], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"N > d \+ 1 examples"):
        greedy_local_search(x[:3], y[:3], v)
    with pytest.raises(ValueError, match=r"`pattern` must be a bool tensor \(2, 6\)"):
        greedy_local_search(x, y, v, pattern=torch.ones(3, 6, dtype=torch.bool))
    line = torch.tensor([[-1.0], [0.0], [1.0], [2.0]], dtype=torch.float64)  # active on -1 and 1 but not 0
    with pytest.raises(ValueError, match="not a vertex of the zonotope"):
        vertex_program(line, y[:4], torch.tensor([[True, False, True, False]]), v[:1])
    with pytest.raises(ValueError, match="0/1 labels for loss='logistic'"):
        vertex_program(x, y, random_vertex(x, 2)[0], v, loss="logistic")
    with pytest.raises(ValueError, match=r"`v` must have shape \(2,\)"):
        vertex_program(x, y, random_vertex(x, 2)[0], v[:1])
    with pytest.raises(ValueError, match="`y` must be finite"):
        vertex_program(x, torch.full_like(y, float("nan")), random_vertex(x, 2)[0], v)
    with pytest.raises(ValueError, match="exact ERM needs 32\\^3 = 32768 programs"):
        exact_erm(x, y, torch.ones(3, dtype=torch.float64), max_programs=1000)
    with pytest.raises(ValueError, match="`solver` must be one of the installed cvxpy solvers"):
        vertex_program_cvxpy(x, y, random_vertex(x, 2)[0], v, solver="NOPE")


def test_an_uncertified_program_warns_and_keeps_feasible_weights() -> None:
    x, y = teacher_relu(d=4, m_gen=2, seed=1)
    pattern, _ = random_vertex(x.double(), 8, seed=1)
    v = torch.tensor([111.0, -1.6e8, -1.0, -1.0, -108.8, 1.0e7, 8.1e7, 0.77], dtype=torch.float64)  # ill-scaled
    with pytest.warns(
        RuntimeWarning,
        match=r"stopped \(after `max_newton`=5 Newton steps, or where rounding broke a Newton matrix at the boundary\) with 1 of 1 patterns",
    ):
        sol = vertex_program(x.double(), y.double(), pattern, v, max_newton=5)
    assert torch.equal(activation_pattern(sol.weight[0], x.double()), pattern)  # still inside the region


def test_mgls_revives_a_dead_unit_where_no_neighbour_improves() -> None:
    # one unit active on the positive points, targets only on the negative ones: program (3) kills the
    # unit (W = 0), no edge of the 1-skeleton improves, the opposite cone fits the targets
    x = torch.tensor([[-3.0], [-2.0], [-1.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
    y = torch.tensor([3.0, 2.0, 0.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    start, v = (x[:, 0] > 0)[None], torch.ones(1, dtype=torch.float64)
    gls = greedy_local_search(x, y, v, pattern=start, output_bias=False)
    assert gls.steps == 0 and gls.stopped == "local_minimum"  # a local minimum of the 1-skeleton
    mgls = modified_greedy_local_search(x, y, v, pattern=start, output_bias=False)
    assert mgls.steps >= 1 and mgls.loss < gls.loss / 10
    assert torch.equal(activation_pattern(mgls.weight, x)[0, :2], torch.tensor([True, True]))


def test_program3_stops_uncertified_where_rounding_breaks_the_newton_matrix_instead_of_hanging() -> None:
    """A dataset on which the interior-point iterate of program (3) slips through the boundary by rounding (its Newton
    matrix then has a negative diagonal and no Cholesky factor: the shift loop never ended): the solve now stops that
    pattern at its last good iterate, strictly inside the region (``vertex_program`` checks it), uncertified and said
    so, with a finite loss."""
    from lightning_poly.algorithms import random_vertex_alternating
    from lightning_poly.data import teacher_relu

    x, y = teacher_relu(d=4, m_gen=2, seed=1)
    with pytest.warns(RuntimeWarning, match="or where rounding broke a Newton matrix"):
        res = random_vertex_alternating(x.double(), y.double(), 2, seeds=1, seed=1)
    assert bool(torch.isfinite(res.loss).all())


def test_gradient_descent_bias_init_readings_start_from_glorot_with_and_without_the_bias_column() -> None:
    from lightning_poly.algorithms import shallow_gradient_descent

    x, y = teacher_relu(d=4, m_gen=2, seed=0)
    m = 6
    zero = shallow_gradient_descent(x.double(), y.double(), m, steps=0, seeds=3)
    glorot = shallow_gradient_descent(x.double(), y.double(), m, steps=0, seeds=3, bias_init="glorot")
    assert bool((zero.weight[..., -1] == 0).all())
    assert bool((zero.weight[..., :-1].abs() <= (6 / (4 + m)) ** 0.5).all())
    bias = glorot.weight[..., -1]
    assert bool((bias != 0).all()) and bool((glorot.weight.abs() <= (6 / (5 + m)) ** 0.5).all())
    # zero steps: the loss is the initial network's, computed independently
    pred = torch.einsum("sm,smn->sn", glorot.v, torch.relu(glorot.weight @ homogeneous_points(x.double()).T))
    assert torch.allclose(glorot.loss, ((pred + glorot.output_bias[:, None] - y.double()) ** 2).mean(dim=1))


def test_random_vertex_started_by_least_squares_stays_in_its_vertex_and_never_beats_the_best_sign_vector() -> None:
    import itertools

    from lightning_poly.algorithms import random_vertex_alternating

    x, y = teacher_relu(d=3, m_gen=2, seed=4)
    x, y = x.double(), y.double()
    m = 3
    pattern, _ = random_vertex(x, m, seed=0)
    best = min(
        float(vertex_program(x, y, pattern, torch.tensor(s, dtype=torch.float64), warn=False).loss[0])
        for s in itertools.product((1.0, -1.0), repeat=m)
    )
    for start in ("random_signs", "least_squares"):
        rec = random_vertex_alternating(x, y, m, seeds=1, seed=0, start=start)
        w, v, c = rec.weight[0], rec.v[0], float(rec.output_bias[0])
        assert bool((pattern == (homogeneous_points(x) @ w.T > 0).T)[v != 0].all())  # the vertex it was given
        assert abs(_relu_loss(x, y, w, c, v, "squared") - float(rec.loss[0])) < 1e-9 * (1 + float(rec.loss[0]))
        assert float(rec.loss[0]) >= best - 1e-7 * (1 + best)  # no sign vector beats the region's optimum
        assert bool((rec.trace[1:] <= rec.trace[:-1] + 1e-12).all())
