"""How alike two covers of the same data are (polytope-basis-covers paper, Section 4.2, Figure 7).

The paper computes two covering polytopes of one class from different initialisations and shows "a clear one-to-one
correspondence between vectors in the two polytopes, both visually and numerically" through the angles between
their face normals. :func:`face_angle_matching` measures that correspondence: every angle between a face of one
polytope and a face of the other, the one-to-one assignment of least total angle (Hungarian), and the faces that
are each other's nearest (mutual nearest neighbours), whose share is the paper's "one-to-one correspondence".
Reading: the paper compares the weight vectors :math:`w` (not the offsets), so the angles here are between the
faces' normals in input space.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightning_poly._validation import check_int
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover

__all__ = ["FaceMatching", "face_angle_matching"]


@dataclass
class FaceMatching:
    """What :func:`face_angle_matching` measured.

    Attributes:
        angles: ``(k_a, k_b)`` angles in degrees between the faces' normals.
        pairs: ``(min(k_a, k_b), 2)`` the least-total-angle one-to-one assignment (row of ``a``, row of ``b``).
        pair_angles: the assignment's angles in degrees.
        mutual: ``(p, 2)`` the pairs that are each other's nearest face.
        share_one_to_one: ``p / max(k_a, k_b)``: the share of faces with a mutual partner (1: a perfect match).
    """

    angles: torch.Tensor
    pairs: torch.Tensor
    pair_angles: torch.Tensor
    mutual: torch.Tensor
    share_one_to_one: float


def face_angle_matching(
    cover_a: PolytopeBasisCover, cover_b: PolytopeBasisCover, polytope_a: int = 0, polytope_b: int = 0
) -> FaceMatching:
    """Match the faces of polytope ``polytope_a`` of ``cover_a`` with those of ``polytope_b`` of ``cover_b`` by
    the angle between their normals (Figure 7's uniqueness analysis).

    Args:
        cover_a: a cover.
        cover_b: another cover of the same data (same input dimension).
        polytope_a: which polytope of ``cover_a``.
        polytope_b: which polytope of ``cover_b``.

    Example:
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> a = PolytopeBasisCover([sq], [torch.ones(4)], [1])
        >>> b = PolytopeBasisCover([sq.flip(0) * 2], [torch.ones(4)], [1])  # the same faces, reordered
        >>> m = face_angle_matching(a, b)
        >>> m.share_one_to_one, m.pairs.tolist()
        (1.0, [[0, 3], [1, 2], [2, 1], [3, 0]])
    """
    from scipy.optimize import linear_sum_assignment

    for name, cover, j in (("cover_a", cover_a, polytope_a), ("cover_b", cover_b, polytope_b)):
        if not isinstance(cover, PolytopeBasisCover):
            raise TypeError(f"`{name}` must be a PolytopeBasisCover, got {type(cover).__name__}")
        check_int(f"polytope_{name[-1]}", j, minimum=0)
        if j >= len(cover.a):
            raise ValueError(f"`polytope_{name[-1]}` must be below the {len(cover.a)} polytopes of `{name}`, got {j}")
        if cover.a[j].shape[0] == 0:
            raise ValueError(f"polytope {j} of `{name}` has no face: nothing to match")
    na, nb = cover_a.a[polytope_a].double(), cover_b.a[polytope_b].double()
    if na.shape[1] != nb.shape[1]:
        raise ValueError(f"the covers must share the input dimension, got {na.shape[1]} and {nb.shape[1]}")
    na = na / na.norm(dim=1, keepdim=True)
    nb = nb / nb.norm(dim=1, keepdim=True)
    angles = torch.rad2deg(torch.arccos((na @ nb.T).clamp(-1.0, 1.0)))
    rows, cols = linear_sum_assignment(angles.numpy())
    pairs = torch.stack([torch.as_tensor(rows), torch.as_tensor(cols)], dim=1).long()
    nearest_b, nearest_a = angles.argmin(dim=1), angles.argmin(dim=0)
    mutual = [(i, int(j)) for i, j in enumerate(nearest_b.tolist()) if int(nearest_a[j]) == i]
    mutual_t = torch.tensor(mutual, dtype=torch.long).reshape(-1, 2)
    return FaceMatching(angles, pairs, angles[pairs[:, 0], pairs[:, 1]], mutual_t, len(mutual) / max(len(na), len(nb)))
