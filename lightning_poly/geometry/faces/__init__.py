r"""Face counts of polytopes :math:`\{x : A x \le b\}`: which inequalities are non-redundant.

The number of faces of a linear region is its number of non-redundant inequalities (face-histogram paper,
Preliminary 5). :func:`count_faces` dispatches over every method, :data:`FACE_METHODS` lists them (from the
``FaceMethod`` Literal); each lives in its own module: ``cleaning`` (the preprocessing and interior points every
method shares), ``lp`` (HiGHS LPs), ``qhull``, ``clarkson``, ``simplex``, ``rays`` (hit-and-run and certificates)
and ``estimate``; ``count`` holds the dispatchers and ``result`` the :class:`FacetCounts` they return.
:func:`count_facets` is the exact part (on the CPU). The exact methods:

* ``"reference"`` — one LP per inequality with HiGHS through :func:`scipy.optimize.linprog`: row
  :math:`i` is a facet iff some point makes it tight while every other row holds strictly,
  :math:`\max\{t : a_i x = b_i,\ a_j x + t \le b_j\ (j \ne i),\ t \le 1\} > \text{tol}`.
  The oracle for the tests and the baseline of the benchmark.
* ``"qhull"`` — low dimension: from an interior point :math:`x_0`, polarity turns halfspace
  intersection into a convex hull: row :math:`i` is a facet iff the dual point
  :math:`a_i / (b_i - a_i x_0)` is a vertex of the dual points' convex hull (Qhull).
* ``"clarkson"`` — higher dimension, output-sensitive (Clarkson 1994): batched certificates and
  hit-and-run rays first certify most facets of all polytopes at once (tensor ops, see
  :mod:`~lightning_poly.geometry.faces.rays`); a bounding box of each polytope (``2d`` LPs) discards
  the rows that cannot reach it; each remaining row is tested by one LP over the *known facets plus
  that row*, and when that LP says "not redundant", a ray towards its optimum finds a new facet.
  LPs are of size (#facets + 1) instead of #rows, and far fewer than one per row.

* ``"simplex"`` — higher dimension, all polytopes at once: the one-LP-per-row test of
  :math:`\max\{a_i x : a_j x \le b_j\ (j \ne i)\}` solved for every row of every polytope by a
  batched primal simplex method in torch (:mod:`~lightning_poly.geometry.faces.simplex`): walks start
  at simple vertices found by ray shots, stop at a witness point or an optimal basis, and every simple
  vertex they meet proves its ``d`` rows facets. A row whose maximum lies within
  ``max(1e-7, 100 tol)`` of :math:`b_i`, or that meets a degenerate vertex, is decided by the
  reference's exact LP instead; a polytope without a simple vertex found goes to ``clarkson``.

* ``"estimate"`` — lower bounds for regions too large for the exact methods (a CNN's): hit-and-run rays and
  certificates (:func:`~lightning_poly.geometry.faces.estimate.estimate_facets`), on the rows' device.

``method="auto"`` takes ``qhull`` for ``d <= 6`` (and ``clarkson`` if Qhull reports a precision
error), ``simplex`` above (measured in ``benchmarks/faces.py`` against pycddlib).

Preprocessing and degeneracy (tolerances are arguments; rows are normalised to unit :math:`\|a_i\|`
so ``tol`` is a distance):

* zero rows (dead neurons, :math:`\|a_i\| \le` ``zero_tol``) are redundant when :math:`b_i \ge 0`;
  with :math:`b_i < 0` the polytope is empty (status ``"infeasible"``);
* duplicate rows count once, the first is kept: rows :math:`(a_i, b_i)/\|a_i\|` closer than
  ``dup_tol`` times their size (at least 1), measured by direct differences so that identical rows
  are at distance exactly 0; scaled copies of a neuron, with either sign, give the same normalised
  row and merge too. Without the merge both copies look redundant to a one-LP-per-row test (each is
  implied by the other) and rounding can pass both through a certificate;
* certificates carry a margin: the batched certificates and rays of ``clarkson`` (and the
  estimator) record a row only at a point where every other row has slack above a margin, so two
  nearly equal rows are never both counted;
* parallel rows with different offsets need nothing special (the looser one is redundant);
* near-tangent hyperplanes: a row is a facet only if it can be made tight with slack ``> tol`` on
  all the others, i.e. the facet has inradius above ``tol`` in its hyperplane;
* a polytope whose largest inscribed ball has radius ``<= interior_tol`` has an empty interior
  (status ``"empty_interior"``, count 0, excluded from histograms);
* unbounded directions: region H-representations carry the box rows, so every polytope is bounded;
  an unbounded input is reported by the LP status.
"""

from lightning_poly.geometry.faces.cleaning import check_polytopes, clean_rows, interior_points
from lightning_poly.geometry.faces.count import (
    FACE_METHODS,
    FACET_METHODS,
    FaceMethod,
    FacetMethod,
    count_faces,
    count_facets,
)
from lightning_poly.geometry.faces.estimate import CERTIFY_MAX_WORK, estimate_facets
from lightning_poly.geometry.faces.qhull import QHULL_MAX_DIM, check_qhull_dim
from lightning_poly.geometry.faces.rays import RayEstimate, certify_facets, hit_and_run_facets
from lightning_poly.geometry.faces.result import STATUS, FacetCounts
from lightning_poly.geometry.faces.simplex import SimplexFacets, first_vertices, simplex_facets

__all__ = [
    "CERTIFY_MAX_WORK", "FACET_METHODS", "FACE_METHODS", "QHULL_MAX_DIM", "STATUS", "FaceMethod", "FacetCounts",
    "FacetMethod", "RayEstimate", "SimplexFacets", "certify_facets", "check_polytopes", "check_qhull_dim",
    "clean_rows", "count_faces", "count_facets", "estimate_facets", "first_vertices", "hit_and_run_facets",
    "interior_points", "simplex_facets",
]  # fmt: skip
