r"""Three-layer polytope-cover networks (polytope-basis-covers paper, Equations (5), (6), (8)).

Piece :math:`j` is :math:`T_j(x) = \lambda + \sum_k v_{jk}\,\sigma(w_{jk}^\top x + b_{jk})` with all
:math:`v_{jk} < 0` (5); the network is :math:`N(x) = -\lambda/2 + \sum_j a_j \sigma(T_j(x))` with fixed
signs :math:`a_j \in \{\pm 1\}` (6). When (7) holds, :math:`\{T_j = \lambda\}` are the polytopes of a
cover (Theorem 3.7). Initialisation satisfies (8), :math:`v_{jk} < -\sqrt{\|w_{jk}\|^2 + b_{jk}^2}`, so
gradient flow keeps :math:`v < 0` (the paper's implicit-bias argument); ``hard_sign=True`` enforces it
after every optimiser step instead (:meth:`CoverNetwork.enforce_sign_`). Neurons are removed by a
mask (a buffer), so shapes, optimisers and DDP stay valid; :meth:`CoverNetwork.export` builds the
physically smaller ReLU MLP ``d -> sum_j m_j -> J -> 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from typing_extensions import override

from lightning_poly._validation import check_int, check_positive

__all__ = ["CoverNetwork"]


class CoverNetwork(nn.Module):
    """``J`` convex pieces of ``m`` neurons each on ``d`` inputs, combined by fixed signs ``a``.

    Args:
        input_dim: ``d``.
        pieces: ``J``.
        width: ``m``, neurons per piece, or one width per piece (the parameters have the largest, the
            rest start masked).
        signs: ``a_j`` (default: alternating +1, -1, ...).
        lam: :math:`\\lambda` (paper: 5).
        margin: (8) holds with :math:`v = -(1 + \\text{margin})\\sqrt{\\|w\\|^2 + b^2}`.
        hard_sign: enforce :math:`v \\le -10^{-6}` (:meth:`enforce_sign_`).
        seed: initialisation seed.
        init_scale: multiplies the first layer's initial weights and biases (``v`` follows by (8)); below 1,
            the "small norm" initialisation the paper's Section 4.2 mentions, which starts every piece near
            :math:`T = \\lambda` (on 784 standardised pixels the unit scale starts most pieces at
            :math:`T \\le 0`, where no gradient flows).

    Example:
        >>> net = CoverNetwork(input_dim=2, pieces=2, width=4, seed=0)
        >>> x = torch.randn(5, 2)
        >>> torch.allclose(net(x), net.export()(x), atol=1e-5)
        True
    """

    def __init__(
        self,
        input_dim: int,
        pieces: int,
        width: int | Sequence[int],
        signs: Sequence[int] | None = None,
        lam: float = 5.0,
        margin: float = 0.1,
        hard_sign: bool = False,
        seed: int = 0,
        init_scale: float = 1.0,
    ) -> None:
        super().__init__()
        check_int("input_dim", input_dim, minimum=1)
        check_positive("init_scale", init_scale)
        check_int("pieces", pieces, minimum=1)
        widths = [width] * pieces if isinstance(width, int) else [int(w) for w in width]
        if len(widths) != pieces:
            raise ValueError(f"`width` must be one int or {pieces} ints (one per piece), got {width}")
        for w_ in widths:
            check_int("width", w_, minimum=1)
        width = max(widths)
        check_positive("lam", lam)
        check_positive("margin", margin)
        a = [1 - 2 * (j % 2) for j in range(pieces)] if signs is None else list(signs)
        if len(a) != pieces or any(s not in (-1, 1) for s in a):
            raise ValueError(f"`signs` must be {pieces} values in {{-1, +1}}, got {a}")
        g = torch.Generator().manual_seed(int(seed))
        w = torch.randn(pieces, width, input_dim, generator=g) * (init_scale / input_dim**0.5)
        b = torch.randn(pieces, width, generator=g) * (0.1 * init_scale)
        self.w = nn.Parameter(w)
        self.b = nn.Parameter(b)
        self.v = nn.Parameter(-(1 + margin) * (w.pow(2).sum(-1) + b.pow(2)).sqrt())
        self.register_buffer("a", torch.tensor(a, dtype=torch.float32))
        self.register_buffer("mask", torch.arange(width)[None, :] < torch.tensor(widths)[:, None])
        self.lam = float(lam)
        self.hard_sign = bool(hard_sign)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, J, m)`` first-layer activations :math:`\\sigma(w_{jk}^\\top x + b_{jk})` (masked)."""
        z = torch.einsum("nd,jmd->njm", x.to(self.w), self.w) + self.b
        return torch.relu(z) * self.mask

    def pieces_out(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, J)`` values :math:`T_j(x)`."""
        return self.lam + (self.hidden(x) * self.v).sum(dim=2)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (-self.lam / 2 + (torch.relu(self.pieces_out(x)) * self.a).sum(dim=1))[:, None]

    def polytope_logits(self, x: torch.Tensor, beta: float = 4.0) -> torch.Tensor:
        r"""``(n, J)`` log-odds that ``x`` lies in the polytope :math:`C_j` of piece ``j`` (the (7) limit).

        Under condition (7) a piece is :math:`\lambda` exactly on
        :math:`C_j = \{x : w_{jk}^\top x + b_{jk} \le 0 \ \forall \text{ live } k\}` (Theorem 3.7) and
        :math:`\le 0` elsewhere, so the network is a step function and gives no gradient. This is its
        smooth version: "inside" scores 0 and "outside through face ``k``" scores
        :math:`\beta |v_{jk}| (w_{jk}^\top x + b_{jk})` (face ``k`` weighted by its output weight, as in
        :math:`T_j`), so :math:`\log\text{odds}(x \in C_j) = -\log\sum_k \exp(\beta |v_{jk}| z_{jk})`.
        As :math:`\beta \to \infty` its sign is that of :math:`-\max_k z_{jk}`: membership of
        :math:`C_j`. Positive per-face scaling leaves :math:`C_j` unchanged, so compression's scaling
        and the finalising loop do not move the polytope. A piece with no live neuron is the whole
        space (log-odds clamped at 30).

        Example:
            >>> net = CoverNetwork(2, pieces=1, width=3, seed=0)
            >>> x = torch.randn(50, 2)
            >>> inside = (torch.einsum("nd,md->nm", x, net.w[0]) + net.b[0] <= 0).all(1)
            >>> bool(((net.polytope_logits(x, beta=1e4)[:, 0] > 0) == inside).all())
            True
        """
        check_positive("beta", beta)
        z = torch.einsum("nd,jmd->njm", x.to(self.w), self.w) + self.b
        score = (beta * self.v.abs() * z).masked_fill(~self.mask, float("-inf"))
        return (-torch.logsumexp(score, dim=2)).clamp(max=30.0)

    @torch.no_grad()
    def polytope_faces(self, piece: int = 0, beta: float = 4.0) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Piece ``piece``'s polytope as ``(A, b)`` with :math:`C = \{x : A x \le b\}`, live faces only, each
        row scaled by :math:`\beta |v_k|` as in :meth:`polytope_logits` (so a unit of :math:`A x - b` is a
        unit of that head's log-odds).

        Example:
            >>> net = CoverNetwork(2, pieces=1, width=3, seed=0)
            >>> a, b = net.polytope_faces()
            >>> x = torch.randn(20, 2)
            >>> bool(((x @ a.T - b <= 0).all(1) == (net.polytope_logits(x, 1e4)[:, 0] > 0)).all())
            True
        """
        check_int("piece", piece, minimum=0)
        if piece >= self.w.shape[0]:
            raise ValueError(f"`piece` must be below {self.w.shape[0]}, got {piece}")
        check_positive("beta", beta)
        live = self.mask[piece]
        scale = beta * self.v[piece, live].abs()
        return self.w[piece, live] * scale[:, None], -self.b[piece, live] * scale

    def sign_lost(self) -> torch.Tensor:
        """``(J, m)`` live neurons whose :math:`v_{jk} \\ge 0` (condition (5) violated)."""
        return self.mask & (self.v.detach() >= 0)

    @torch.no_grad()
    def enforce_sign_(self, eps: float = 1e-6) -> None:
        """Clamp :math:`v \\le -\\varepsilon` in place (the hard-constraint option)."""
        self.v.clamp_(max=-eps)

    def live_widths(self) -> list[int]:
        return self.mask.sum(dim=1).tolist()

    @torch.no_grad()
    def export(self) -> nn.Sequential:
        """The physically smaller ReLU MLP ``d -> sum_j m_j -> J -> 1`` of Equation (6) (live neurons only)."""
        j_idx, k_idx = torch.nonzero(self.mask, as_tuple=True)
        h = len(j_idx)
        d, pieces = self.w.shape[2], self.w.shape[0]
        net = nn.Sequential(
            nn.Linear(d, max(h, 1)), nn.ReLU(), nn.Linear(max(h, 1), pieces), nn.ReLU(), nn.Linear(pieces, 1)
        ).to(device=self.w.device, dtype=self.w.dtype)
        net[0].weight.zero_()
        net[0].bias.zero_()
        net[2].weight.zero_()
        net[0].weight[:h] = self.w[j_idx, k_idx]
        net[0].bias[:h] = self.b[j_idx, k_idx]
        net[2].weight[j_idx, torch.arange(h, device=j_idx.device)] = self.v[j_idx, k_idx]
        net[2].bias.fill_(self.lam)
        net[4].weight[0] = self.a
        net[4].bias.fill_(-self.lam / 2)
        return net
