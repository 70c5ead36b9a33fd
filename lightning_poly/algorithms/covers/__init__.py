"""Polytope-basis covers (polytope-basis-covers paper), one module a step: ``compress`` (Algorithm 1 and the end of
Algorithm 2), ``extract`` (the cover a trained network reveals, Theorem 3.7; Algorithm 3), ``to_network`` (Theorem
3.4's network from a cover), ``prune`` (redundant polytopes and faces), ``refine`` (a cover's margins),
``hinge_refit`` (one polytope's squared-hinge refit), ``eliminate`` (face elimination) and ``width_bounds``
(Proposition 3.1, Theorems 3.5 and 3.6)."""
