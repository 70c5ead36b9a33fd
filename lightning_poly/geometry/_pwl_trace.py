r"""Exact linearisation of a traced piecewise-linear network at a batch of points (for ``pwl_regions``).

:class:`PWLGraph` traces a model with ``torch.fx``, checks every node that touches the input against the
supported layers and functions (refusing the others by name), and :meth:`PWLGraph.run` pushes a batch of
points through the graph as triples :class:`Affine` ``(v, j, c)``: the values ``v`` at the points and
the local affine map ``v = j x + c`` of the flattened input ``x``, all in float64. Every (leaky) ReLU
records its sign pattern and rows, every max pool its choices and rows (:class:`Records`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import fx, nn

from lightning_poly._compat import conv_forward
from lightning_poly.geometry._rows import gate_map, linear_map, sign_rows, weight_bias

__all__ = ["Affine", "PWLGraph", "Records", "SUPPORTED_FUNCTIONS", "SUPPORTED_LAYERS"]

SUPPORTED_LAYERS = (
    "Linear, Conv1d, Conv2d, ReLU, LeakyReLU, AvgPool1d/2d, AdaptiveAvgPool1d/2d, MaxPool1d/2d, "
    "BatchNorm1d/2d (eval, running statistics), Dropout/Dropout1d/Dropout2d (eval), Flatten, Unflatten, Identity"
)
SUPPORTED_FUNCTIONS = (
    "relu, leaky_relu, F.linear, + and - of two branches or a constant, * and / by a constant, "
    "flatten/view/reshape/contiguous (the batch stays first), size/dim/shape"
)


class Affine(NamedTuple):
    """A node's values ``v`` ``(n, *s)`` at the points and its local affine map ``v = j x + c``
    (``j``: ``(n, *s, d)``, ``c``: ``(n, *s)``) of the flattened input ``x``."""

    v: torch.Tensor
    j: torch.Tensor
    c: torch.Tensor


@dataclass
class Records:
    """What one pass records, in graph order: per (leaky) ReLU its pattern and sign rows, per max pool its
    choices and rows, each with the graph node's name and its number of columns (units) or rows."""

    patterns: list[torch.Tensor] = field(default_factory=list)
    unit_rows: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)
    unit_layers: list[tuple[str, int]] = field(default_factory=list)
    choices: list[torch.Tensor] = field(default_factory=list)
    pool_rows: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)
    pool_layers: list[tuple[str, int]] = field(default_factory=list)


Step = Callable[[list[Any], dict[str, Any], Records], Any]


# -- the affine steps ---------------------------------------------------------------------------------
def _linear(s: Affine, w: torch.Tensor, b: torch.Tensor) -> Affine:
    """A linear layer on the last dimension, with region_hrep's arithmetic (``linear_map``)."""
    lead, d = s.v.shape[:-1], s.j.shape[-1]
    r = math.prod(lead)  # sizes spelled out: a map of no columns (d = 0) has no -1 to infer
    m, c = linear_map(w, b, s.j.reshape(r, w.shape[1], d), s.c.reshape(r, w.shape[1]))
    return Affine(s.v @ w.T + b, m.reshape(*lead, w.shape[0], d), c.reshape(*lead, w.shape[0]))


def _columns(s: Affine, f: Callable[[torch.Tensor], torch.Tensor], shift: torch.Tensor | None = None) -> Affine:
    """A linear map ``f`` (batched over the first dimension), then ``+ shift``: ``f`` runs on the values, the
    offsets and the ``d`` columns of ``j`` as one batch."""
    n, d = s.j.shape[0], s.j.shape[-1]
    v, c = f(s.v), f(s.c)
    if shift is not None:
        v, c = v + shift, c + shift
    if d == 0:  # no map carried (values only)
        return Affine(v, v.new_zeros(*v.shape, 0), c)
    cols = f(s.j.movedim(-1, 1).reshape(n * d, *s.v.shape[1:]))
    return Affine(v, cols.reshape(n, d, *cols.shape[1:]).movedim(1, -1), c)


def _gate(s: Affine, slope: float, name: str, rec: Records) -> Affine:
    """A (leaky) ReLU: record the pattern ``v > 0`` and its sign rows, then gate the map (region_hrep's steps)."""
    n, d = s.j.shape[0], s.j.shape[-1]
    pos = (s.v > 0).reshape(n, -1)
    mz, cz = s.j.reshape(n, pos.shape[1], d), s.c.reshape(pos.shape)
    rec.patterns.append(pos)
    rec.unit_rows.append(sign_rows(pos, mz, cz))
    rec.unit_layers.append((name, pos.shape[1]))
    m, c = gate_map(pos, mz, cz, slope)
    v = torch.relu(s.v) if slope == 0 else F.leaky_relu(s.v, slope)
    return Affine(v, m.reshape(s.j.shape), c.reshape(s.c.shape))


def _reshape(s: Affine, v: torch.Tensor, name: str) -> Affine:
    """A reshape of the features (``v`` is the reshaped values); the batch must stay the first dimension."""
    if v.ndim == 0 or v.shape[0] != s.v.shape[0] or v.numel() != s.v.numel():
        raise ValueError(
            f"graph node {name!r} reshapes {tuple(s.v.shape)} to {tuple(v.shape)}, across the batch of points; "
            f"pwl_regions needs the first dimension to stay the batch"
        )
    return Affine(v, s.j.reshape(*v.shape, s.j.shape[-1]), s.c.reshape(v.shape))


def pool_windows(
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> torch.Tensor:
    """``(L, K)``: for every output position of a pool (row-major) the flat input index of each window
    position (row-major), ``-1`` where the window reaches into the padding."""
    flat = torch.zeros(1, 1, dtype=torch.long)
    ok = torch.ones(1, 1, dtype=torch.bool)
    for size, out, k, st, p, dl in zip(in_shape, out_shape, kernel, stride, padding, dilation, strict=True):
        pos = torch.arange(out)[:, None] * st - p + torch.arange(k)[None, :] * dl
        shape = (flat.shape[0] * out, flat.shape[1] * k)
        flat = (flat[:, None, :, None] * size + pos[None, :, None, :]).reshape(shape)
        ok = (ok[:, None, :, None] & ((pos >= 0) & (pos < size))[None, :, None, :]).reshape(shape)
    return torch.where(ok, flat, -1)


def _max_pool(s: Affine, mod: nn.MaxPool1d | nn.MaxPool2d, name: str, rec: Records) -> Affine:
    """A max pool: the chosen entry's map passes; ``value(choice) >= value(other)`` for every other entry of
    each window is recorded as a row ``(j_other - j_choice) x <= c_choice - c_other``."""
    nd = 1 if isinstance(mod, nn.MaxPool1d) else 2

    def tup(value: Any) -> tuple[int, ...]:
        return tuple(value) if isinstance(value, tuple | list) else (value,) * nd

    if s.v.ndim != nd + 2:
        raise ValueError(
            f"layer {name!r} ({type(mod).__name__}) gets shape {tuple(s.v.shape)}; pwl_regions needs "
            f"(n, channels, {nd} spatial dims)"
        )
    pool = F.max_pool1d if nd == 1 else F.max_pool2d
    v, idx = pool(s.v, mod.kernel_size, mod.stride, mod.padding, mod.dilation, mod.ceil_mode, return_indices=True)
    n, ch, d = v.shape[0], v.shape[1], s.j.shape[-1]
    size = math.prod(s.v.shape[2:])
    jf, cf, arg = s.j.reshape(n, ch, size, d), s.c.reshape(n, ch, size), idx.reshape(n, ch, -1)
    j_arg, c_arg = jf.gather(2, arg[..., None].expand(-1, -1, -1, d)), cf.gather(2, arg)
    params = (tup(mod.kernel_size), tup(mod.stride), tup(mod.padding), tup(mod.dilation))
    win = pool_windows(tuple(s.v.shape[2:]), tuple(v.shape[2:]), *params).to(arg.device)
    big_l, big_k = win.shape
    other = win.clamp_min(0).reshape(-1)
    a = jf[:, :, other].reshape(n, ch, big_l, big_k, d) - j_arg[:, :, :, None]
    b = c_arg[..., None] - cf[:, :, other].reshape(n, ch, big_l, big_k)
    keep = (win >= 0) & (win != arg[..., None])  # the same count for every point: the choice is in its window
    rows = int(keep[0].sum()) if n else 0
    rec.choices.append(arg.reshape(n, -1))
    rec.pool_rows.append((a[keep].reshape(n, rows, d), b[keep].reshape(n, rows)))
    rec.pool_layers.append((name, rows))
    return Affine(v, j_arg.reshape(n, ch, *v.shape[2:], d), c_arg.reshape(v.shape))


def _add(x: Any, y: Any, sign: float, name: str) -> Affine:
    """``x + sign * y`` where one or both are :class:`Affine` (a residual branch, or a constant shift)."""
    if isinstance(x, Affine) and isinstance(y, Affine):
        if x.v.shape != y.v.shape:
            raise ValueError(
                f"graph node {name!r} adds branches of shapes {tuple(x.v.shape)} and {tuple(y.v.shape)}; "
                f"pwl_regions adds branches of equal shape only"
            )
        return Affine(x.v + sign * y.v, x.j + sign * y.j, x.c + sign * y.c)
    if isinstance(x, Affine):
        return _keep_shape(x, Affine(x.v + sign * y, x.j, x.c + sign * y), name)
    return _keep_shape(y, Affine(x + sign * y.v, sign * y.j, x + sign * y.c), name)


def _scale(s: Affine, k: Any, name: str) -> Affine:
    """``s * k`` for a constant ``k`` (a number or a tensor that broadcasts to the values)."""
    kj = k[..., None] if isinstance(k, torch.Tensor) else k
    return _keep_shape(s, Affine(s.v * k, s.j * kj, s.c * k), name)


def _keep_shape(before: Affine, after: Affine, name: str) -> Affine:
    if after.v.shape != before.v.shape:
        raise ValueError(
            f"graph node {name!r} broadcasts the values from {tuple(before.v.shape)} to {tuple(after.v.shape)} "
            f"with a constant; pwl_regions needs the constant to keep the shape"
        )
    return after


# -- the trace ----------------------------------------------------------------------------------------
def _qualified(node: fx.Node) -> str:
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    t = node.target
    module = {"_operator": "operator", "torch._C._nn": "torch.nn.functional", None: "torch"}.get(
        getattr(t, "__module__", None), getattr(t, "__module__", "")
    )
    return f"{module}.{getattr(t, '__name__', repr(t))}"


_RESHAPE_METHODS = {"flatten", "view", "reshape", "contiguous"}
_SHAPE_METHODS = {"size", "dim"}
_SHAPE_ATTRS = {"shape", "ndim", "dtype", "device"}
_DROPOUT = nn.Dropout | nn.Dropout1d | nn.Dropout2d


def _fetch(model: nn.Module, target: str) -> Any:
    obj: Any = model
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj.detach() if isinstance(obj, torch.Tensor) else obj


class PWLGraph:
    """A model traced by ``torch.fx``, every node on the input's path checked against the supported steps.

    Args:
        model: the network; traced once here, run at any batch of points by :meth:`run`.
        device: where its parameters, as float64 copies, go.

    Raises:
        ValueError: if the model cannot be traced, takes several inputs, or applies to its input a layer or
            function that is not supported (named by its qualified name and type), or a layer in train mode
            whose output depends on the batch (BatchNorm, Dropout).
    """

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        try:
            gm = fx.symbolic_trace(model)
        except Exception as err:  # fx raises many kinds (TraceError, TypeError, AttributeError, ...)
            raise ValueError(
                f"`model` ({type(model).__name__}) cannot be traced by torch.fx ({type(err).__name__}: {err}); "
                f"pwl_regions reads the layers from the trace: its forward must not branch on the input's values"
            ) from err
        self.model, self.device = model, device
        self.nodes = list(gm.graph.nodes)
        self.input: fx.Node | None = None
        self.output: fx.Node | None = None
        self.steps: dict[fx.Node, Step] = {}  # the nodes that read the input's path (their args hold an Affine)
        self.path: set[fx.Node] = set()  # the nodes whose value is an Affine
        self.first_layer: tuple[str, nn.Module] | None = None
        for node in self.nodes:
            self._check(node)
        if self.input is None or self.output is None:
            raise ValueError(f"`model` ({type(model).__name__})'s forward takes no input or returns nothing")
        self.last_use = {}
        for i, node in enumerate(self.nodes):
            for arg in node.all_input_nodes:
                self.last_use[arg] = i

    def _on_path(self, node: Any) -> bool:
        return isinstance(node, fx.Node) and node in self.path

    def _check(self, node: fx.Node) -> None:
        if node.op == "placeholder":
            if self.input is not None and not node.args:  # a second input without a default value
                raise ValueError(
                    f"`model`'s forward takes several inputs ({self.input.name!r}, {node.name!r}); pwl_regions "
                    f"takes one batch of points"
                )
            if self.input is None:
                self.input = node
                self.path.add(node)
        elif node.op == "output":
            out = node.args[0]
            if not self._on_path(out):
                raise ValueError("`model`'s forward must return one tensor computed from its input")
            self.output = out
        elif node.op != "get_attr" and any(self._on_path(a) for a in node.all_input_nodes):
            step = self._module_step(node) if node.op == "call_module" else self._function_step(node)
            self.steps[node] = step

    def _module_step(self, node: fx.Node) -> Step:
        name = str(node.target)
        mod = self.model.get_submodule(name)
        kind = type(mod).__name__
        self.path.add(node)
        if self.first_layer is None and self.input in node.all_input_nodes:
            self.first_layer = (name, mod)
        if isinstance(mod, nn.BatchNorm1d | nn.BatchNorm2d | _DROPOUT) and mod.training:
            raise ValueError(
                f"`model` holds layer {name!r} ({kind}) in train mode, where it is not a fixed map of each "
                f"point; call `model.eval()` first"
            )
        if isinstance(mod, nn.Linear):
            w, b = weight_bias(mod, torch.float64)
            w, b = w.to(self.device), b.to(self.device)
            return lambda args, kw, rec: _linear(args[0], w, b)
        if isinstance(mod, nn.Conv1d | nn.Conv2d):
            w, b = (t.to(self.device) for t in weight_bias(mod, torch.float64))
            shift = b.reshape(-1, *[1] * (w.ndim - 2))
            return lambda args, kw, rec: _columns(args[0], lambda t: conv_forward(mod, t, w), shift)
        if isinstance(mod, nn.ReLU | nn.LeakyReLU):
            slope = float(getattr(mod, "negative_slope", 0.0))
            return lambda args, kw, rec: _gate(args[0], slope, name, rec)
        if isinstance(mod, nn.MaxPool1d | nn.MaxPool2d) and not mod.return_indices:
            return lambda args, kw, rec: _max_pool(args[0], mod, name, rec)
        if isinstance(mod, nn.AvgPool1d | nn.AvgPool2d | nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d):
            return lambda args, kw, rec: _columns(args[0], mod)
        if isinstance(mod, nn.BatchNorm1d | nn.BatchNorm2d):
            return self._batch_norm(mod, name)
        if isinstance(mod, nn.Flatten | nn.Unflatten):
            return lambda args, kw, rec: _reshape(args[0], mod(args[0].v), name)
        if isinstance(mod, nn.Identity | _DROPOUT):
            return lambda args, kw, rec: args[0]
        raise ValueError(
            f"`model` holds layer {name!r} ({kind}), which pwl_regions does not support (not piecewise linear, "
            f"or not known to be); supported layers: {SUPPORTED_LAYERS}"
        )

    def _batch_norm(self, mod: nn.BatchNorm1d | nn.BatchNorm2d, name: str) -> Step:
        if mod.running_mean is None or mod.running_var is None:
            raise ValueError(
                f"`model` holds layer {name!r} ({type(mod).__name__}) without running statistics "
                f"(track_running_stats=False): it normalises by each batch; pwl_regions needs a fixed map"
            )
        var, mean = mod.running_var.detach().to(self.device, torch.float64), mod.running_mean.detach()
        scale = 1.0 / torch.sqrt(var + mod.eps)
        if mod.weight is not None:
            scale = scale * mod.weight.detach().to(scale)
        shift = -mean.to(scale) * scale
        if mod.bias is not None:
            shift = shift + mod.bias.detach().to(scale)

        def step(args: list[Any], kw: dict[str, Any], rec: Records) -> Affine:
            shape = (-1, *[1] * (args[0].v.ndim - 2))
            return _columns(args[0], lambda t: t * scale.reshape(shape), shift.reshape(shape))

        return step

    def _function_step(self, node: fx.Node) -> Step:
        t, name, what = node.target, node.name, _qualified(node)
        method = node.op == "call_method"
        if (method and t in _SHAPE_METHODS) or (t is getattr and node.args[1] in _SHAPE_ATTRS):
            return lambda args, kw, rec: _concrete(node, [_value(a) for a in args], kw)
        self.path.add(node)
        first = bool(node.args) and self._on_path(node.args[0])  # the steps of one input take it first
        if first and ((method and t == "relu") or t in (torch.relu, F.relu)):
            return lambda args, kw, rec: _gate(args[0], 0.0, name, rec)
        if first and t is F.leaky_relu:
            return lambda args, kw, rec: _gate(
                args[0], float(args[1] if len(args) > 1 else kw.get("negative_slope", 0.01)), name, rec
            )
        if first and ((method and t in _RESHAPE_METHODS) or t in (torch.flatten, torch.reshape)):
            call = getattr(torch.Tensor, "reshape" if t == "view" else t) if method else t
            return lambda args, kw, rec: _reshape(args[0], call(args[0].v, *args[1:], **kw), name)
        if t in (operator.add, operator.sub, torch.add, torch.sub) and set(node.kwargs) <= {"alpha"}:
            sign = -1.0 if t in (operator.sub, torch.sub) else 1.0
            return lambda args, kw, rec: _add(args[0], _times(args[1], kw.get("alpha", 1)), sign, name)
        if first and t is operator.neg:
            return lambda args, kw, rec: _scale(args[0], -1.0, name)
        if t in (operator.mul, torch.mul) and sum(self._on_path(a) for a in node.args) == 1:
            return lambda args, kw, rec: (
                _scale(args[0], args[1], name) if isinstance(args[0], Affine) else _scale(args[1], args[0], name)
            )
        if first and t in (operator.truediv, torch.div) and not self._on_path(node.args[1]) and not node.kwargs:
            return lambda args, kw, rec: _scale(args[0], 1.0 / args[1], name)
        if first and t is F.linear and not any(self._on_path(a) for a in node.all_input_nodes[1:]):
            return lambda args, kw, rec: _linear(
                args[0], args[1].to(torch.float64), _bias(args[1], args[2] if len(args) > 2 else kw.get("bias"))
            )
        raise ValueError(
            f"`model`'s forward calls {what} (graph node {name!r}) on the input, which pwl_regions does not "
            f"support (not piecewise linear, or not known to be); supported functions: {SUPPORTED_FUNCTIONS}; "
            f"supported layers: {SUPPORTED_LAYERS}"
        )

    @torch.no_grad()
    def run(self, x: torch.Tensor, maps: bool = True, columns: torch.Tensor | None = None) -> tuple[Affine, Records]:
        """Push the points ``x`` ``(n, *shape)`` (float64, on the graph's device) through the graph.

        Args:
            x: the points.
            maps: carry the maps; ``False``: values and patterns only (the maps have no columns, the
                offsets ``c`` are the values and the rows' ``b`` the signed pre-activations).
            columns: ``(d, k)`` directions the maps carry instead of the ``d`` coordinates: every map and row
                is then the full one times ``columns`` (all are linear in them), e.g. a block of the identity's
                columns; ``None``: the identity.

        Returns:
            The output's :class:`Affine` and the :class:`Records` of the pass.
        """
        n, d = x.shape[0], math.prod(x.shape[1:]) if maps else 0
        if maps:
            eye = torch.eye(d, dtype=x.dtype, device=x.device) if columns is None else columns.to(x)
            k = eye.shape[1]
            start = Affine(x, eye.reshape(*x.shape[1:], k).expand(n, *x.shape[1:], k), torch.zeros_like(x))
        else:
            start = Affine(x, x.new_zeros(*x.shape, 0), x)
        env: dict[fx.Node, Any] = {}
        rec = Records()
        for i, node in enumerate(self.nodes):
            if node.op == "output":
                break
            if node is self.input:
                env[node] = start
            elif node.op == "placeholder":
                env[node] = node.args[0]
            elif node.op == "get_attr":
                env[node] = _fetch(self.model, str(node.target))
            else:
                args = list(fx.node.map_arg(node.args, env.__getitem__))
                kwargs = dict(fx.node.map_arg(node.kwargs, env.__getitem__))
                step = self.steps.get(node)
                env[node] = step(args, kwargs, rec) if step else _concrete(node, args, kwargs, self.model)
            for arg in node.all_input_nodes:
                if self.last_use.get(arg) == i and arg is not self.output:
                    del env[arg]
        assert self.output is not None
        out = env[self.output]
        return out, rec


def _value(a: Any) -> Any:
    return a.v if isinstance(a, Affine) else a


def _times(y: Any, alpha: float) -> Any:
    return y if alpha == 1 else (_scale(y, alpha, "alpha") if isinstance(y, Affine) else y * alpha)


def _bias(w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    return torch.zeros(w.shape[0], dtype=torch.float64, device=w.device) if b is None else b.to(torch.float64)


def _concrete(node: fx.Node, args: list[Any], kwargs: dict[str, Any], model: nn.Module | None = None) -> Any:
    """A node off the input's path (a constant, a shape), evaluated as the model would."""
    if node.op == "call_method":
        return getattr(args[0], str(node.target))(*args[1:], **kwargs)
    if node.op == "call_module":
        assert model is not None
        return model.get_submodule(str(node.target))(*args, **kwargs)
    return node.target(*args, **kwargs)  # type: ignore[operator]
