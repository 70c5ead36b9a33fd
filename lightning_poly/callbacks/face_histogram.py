"""Log the face histogram of the model's linear regions during training (DDP-safe, resumable)."""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from typing_extensions import override

from lightning_poly._compat import MisconfigurationException
from lightning_poly._user import analysed_network, resolve_analysed_network, trainer_dataloader, user_inputs
from lightning_poly._validation import check_choice, check_int, check_int_tuple, check_positive
from lightning_poly.callbacks._base import SuiteCallback
from lightning_poly.data.samples import BatchToXY
from lightning_poly.geometry.faces import FACE_METHODS, FaceMethod
from lightning_poly.geometry.histogram import FaceHistogram, face_histogram, network_architecture
from lightning_poly.geometry.whole_histogram import REGION_SOURCES, RegionSource
from lightning_poly.media import log_figure, log_histogram
from lightning_poly.nn.outputs import eval_mode
from lightning_poly.plotting import plot_face_histogram

__all__ = ["FaceHistogramCallback"]

PointSource = Literal["uniform", "train"]


class _ProgressBar:
    """``on_progress(done, total)`` for the core: a tqdm bar, opened once a call has 64 regions or more."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None and total >= 64:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=self.desc, leave=False, dynamic_ncols=True, delay=2.0)
        if self.bar is not None:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class FaceHistogramCallback(SuiteCallback):
    """Histogram of the faces of the network's linear regions at fit start, during and at fit end.

    The work is :func:`lightning_poly.geometry.face_histogram`, split in two: the regions are found
    on every rank from identical points (seeded uniform points, or training data identical on every
    rank), then each rank counts the faces of every ``world_size``-th region and one ``sum``
    all-reduce, reached by every rank, gathers the counts. Only rank zero logs: ``faces/*`` scalars
    (mean, max, regions, simple fraction, network and box faces apart, the applicable bound, seconds
    per call), the histogram (``wandb.Histogram`` / TensorBoard / ``.npz``) and a bar-chart image. The
    model is never changed, and no global random state is used.

    What a call costs: regions grow with the input dimension (above ``d`` of about 10 almost every
    point is a region of its own) and facet counting grows with ``d``. By default ``method="auto"``
    counts exactly up to ``exact_max_dim`` inputs (the batched simplex of
    :func:`~lightning_poly.geometry.count_facets` above ``d = 6``, measured faster than the estimator at
    d = 8, 16 and 30 in ``benchmarks/``) and estimates above (hit-and-run with certificates: lower
    bounds, logged as ``faces/exact = 0``), and each call counts regions in a seeded random order for
    at most ``max_seconds`` (the rest are logged as ``faces/uncounted_regions``). A progress bar shows
    long calls on rank zero; a call slower than ``warn_seconds`` logs a warning with the measured seconds
    per region. The end-of-training call runs before the strategy's teardown (so ``last.ckpt`` holds it);
    on weights bit-identical to those of the last call it records that histogram again without counting
    it twice, and after another callback changed the weights at the end it counts them anew (list it after
    that callback). The ``faces/*`` scalars of epoch and step calls are in ``trainer.callback_metrics``, so
    ``EarlyStopping`` and ``ModelCheckpoint(monitor="faces/mean_faces")`` can watch them.

    A network that is not a ReLU MLP (a CNN such as the paper's LeNet-5 of Section V.C, any network of
    :func:`~lightning_poly.geometry.pwl_regions`) is analysed at the shape of the training samples, or at
    ``input_shape`` when given (needed only without training data): the module's own forward (or the
    ``network`` submodule) is traced, checked at ``setup`` (a layer that is not piecewise linear is refused by
    name), and its faces are estimated (``method`` ``"auto"`` or ``"estimate"``).

    Args:
        n_points: uniform points in the box (paper: 8,000 in ``[-1, 1]^3``).
        box: half-width ``B`` of the input box.
        points: ``"uniform"`` or ``"train"`` (the training data, which must lie in the box).
        sample_box: half-width of the cube the uniform points are drawn from, when it is smaller than the box
            that bounds the regions (Figure 7: points in ``[-1, 1]^5``, box ``[-5, 5]^5``); ``None``: ``box``.
        method: ``"auto"`` (exact up to ``exact_max_dim``, estimate above), an exact method or
            ``"estimate"`` (see :func:`~lightning_poly.geometry.face_histogram`).
        every_n_epochs: also run at the end of every this many epochs (0: never).
        every_n_steps: also run every this many optimizer steps (0: never).
        at_fit_start: run at fit start (skipped on resume, where the restored history holds it).
        at_fit_end: run at fit end.
        seed: seed of the points, the rays and the counting order.
        plot: log the bar chart too.
        patience: stopping rule of the estimator: rays without a new face (paper: 1,000).
        max_rays: most rays per region of the estimator.
        max_seconds: time budget of a call, all of it: the check of the network, finding the regions, measuring
            and counting them (``None``: count every region). A network whose one region does not fit (a large
            CNN: torchvision's ResNet-18 at 3x32x32 has 86,016 rows of 3,072 a region) counts none, and one whose
            regions are costly searches fewer points, each with a warning naming the cost.
        max_memory: bytes one region of a network that is not a ReLU MLP may take (six copies of its float64
            rows: what counting it holds at its peak); above, no region is counted, with a warning naming the size
            (``None``: no bound).
        exact_max_dim: largest input dimension counted exactly by ``method="auto"``.
        warn_seconds: warn when a call takes longer than this.
        progress: show a progress bar on rank zero for calls of many regions that last over 2 s (never when
            the Trainer has no progress bar).
        data: the points for ``points="train"`` (tensors, a Dataset or a DataLoader); ``None``: the
            Trainer's training data.
        max_samples: at most this many training samples for ``points="train"``.
        network: the submodule holding the ReLU MLP (``None``: found); checked against the forward. With
            ``input_shape``: the submodule to analyse (``None``: the module itself).
        batch_to_xy: splits a batch into ``(x, y)`` (default: tuple, list or dict batches).
        input_shape: a point's shape (e.g. ``(1, 28, 28)``) for a network that is not a ReLU MLP; ``None``: a
            ReLU MLP, or the shape of the training samples for any other network.
        regions: ``"sampled"``: the regions the points fall in; ``"all"``: every region of the box, from the
            region complex (exact, unbiased: the regions the bounds speak of; ReLU MLPs of low input dimension),
            when it is enumerated within ``max_regions`` regions and half of ``max_seconds``, else the sampled
            regions with a warning that says why. Logged as ``faces/whole_complex``.
        max_regions: most regions of the complex with ``regions="all"``.

    Example:
        >>> a, b = FaceHistogramCallback(n_points=2000), FaceHistogramCallback(n_points=2000, seed=1)
        >>> a.state_key != b.state_key  # two instances in one Trainer, each resumed into its own state
        True
    """

    reuse_unchanged = True

    def __init__(
        self,
        n_points: int = 8000,
        box: float = 1.0,
        points: PointSource = "uniform",
        sample_box: float | None = None,
        method: FaceMethod = "auto",
        every_n_epochs: int = 1,
        every_n_steps: int = 0,
        at_fit_start: bool = True,
        at_fit_end: bool = True,
        seed: int = 0,
        plot: bool = True,
        patience: int = 1000,
        max_rays: int = 100_000,
        max_seconds: float | None = 20.0,
        max_memory: int | None = 4 * 2**30,
        exact_max_dim: int = 32,
        warn_seconds: float = 10.0,
        progress: bool = True,
        data: Any = None,
        max_samples: int | None = 8000,
        network: str | None = None,
        batch_to_xy: BatchToXY | None = None,
        input_shape: tuple[int, ...] | None = None,
        regions: RegionSource = "sampled",
        max_regions: int = 100_000,
    ) -> None:
        self.n_points = check_int("n_points", n_points, minimum=1)
        self.box = float(check_positive("box", box))
        self.points = check_choice("points", points, ("uniform", "train"))
        if sample_box is not None:
            check_positive("sample_box", sample_box)
            if sample_box > box:
                raise ValueError(f"`sample_box` must be at most `box` = {box}: the regions are bounded by the box, "
                                 f"got {sample_box}")  # fmt: skip
        self.sample_box = sample_box
        self.method = check_choice("method", method, FACE_METHODS)
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=0)
        self.every_n_steps = check_int("every_n_steps", every_n_steps, minimum=0)
        self.at_fit_start, self.at_fit_end = bool(at_fit_start), bool(at_fit_end)
        self.seed, self.plot = int(seed), bool(plot)
        self.patience = check_int("patience", patience, minimum=1)
        self.max_rays = check_int("max_rays", max_rays, minimum=1)
        self.max_seconds = None if max_seconds is None else float(check_positive("max_seconds", max_seconds))
        self.max_memory = None if max_memory is None else check_int("max_memory", max_memory, minimum=1)
        self.exact_max_dim = check_int("exact_max_dim", exact_max_dim, minimum=1)
        self.warn_seconds = float(check_positive("warn_seconds", warn_seconds))
        self.progress = bool(progress)
        self.max_samples = None if max_samples is None else check_int("max_samples", max_samples, minimum=1)
        self.data, self.network, self.batch_to_xy = data, network, batch_to_xy
        self.input_shape = None if input_shape is None else check_int_tuple("input_shape", input_shape)
        if self.input_shape is not None and self.method not in ("auto", "estimate"):
            raise ValueError(
                f"`method` must be 'auto' or 'estimate' for a network that is not a ReLU MLP (`input_shape` "
                f"given): its faces are estimated, got {self.method!r}"
            )
        self.regions = check_choice("regions", regions, REGION_SOURCES)
        self.max_regions = check_int("max_regions", max_regions, minimum=1)
        if self.input_shape is not None and self.regions == "all":
            raise ValueError(
                "`regions` can be 'all' only for a ReLU MLP (the region complex), got 'all' with `input_shape` "
                f"{self.input_shape} (a network that is not a ReLU MLP)"
            )
        self._train: torch.Tensor | None = None
        self._check_x: torch.Tensor | None = None
        self._shape: tuple[int, ...] | None = self.input_shape
        self.last: FaceHistogram | None = None
        self._schedule(self.at_fit_start, self.every_n_epochs, self.every_n_steps, self.at_fit_end)

    # -- hooks decide ---------------------------------------------------------------------------
    @override
    def _setup_fit(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        who = type(self).__name__
        sample: torch.Tensor | None = None
        if self.points == "train":
            self._train = sample = user_inputs(trainer, self.data, "train", self.max_samples, self.batch_to_xy, who)
            flat = self._train.flatten(1)
            if bool((flat.abs() > self.box).any()):
                raise MisconfigurationException(
                    f"points='train' needs the training data inside the box; max |x| is {float(flat.abs().max()):.3g} > box={self.box}"
                )
        elif self.data is not None or trainer_dataloader(trainer, "train") is not None:
            sample = user_inputs(trainer, self.data, "train", 64, self.batch_to_xy, who)
        self._check_x = sample
        _, self._shape = resolve_analysed_network(pl_module, self.network, sample, self.input_shape, who)
        if self._shape is not None and self.method not in ("auto", "estimate"):
            raise MisconfigurationException(
                f"{who}: `method` must be 'auto' or 'estimate' for a network that is not a ReLU MLP (analysed at "
                f"input shape {self._shape}): its faces are estimated, got {self.method!r}"
            )
        if self._shape is not None and self.regions == "all":
            raise MisconfigurationException(
                f"{who}: `regions` can be 'all' only for a ReLU MLP (the region complex); the network is analysed "
                f"at input shape {self._shape}, got regions='all'"
            )

    def summary(self) -> str:
        """One line for the CLI's run summary."""
        if self.last is None:
            return ""
        h = self.last
        if h.n_regions == 0 and h.notes:  # nothing counted: say why (e.g. the budget)
            return h.notes[0]
        b = f", {h.bound[0]} bound {h.bound[1]:.2f} (network faces {h.mean_network_faces:.2f})" if h.bound else ""
        kind = "exact" if h.exact else "estimated (lower bounds)"
        left = f" ({h.n_uncounted} more not counted: time budget)" if h.n_uncounted else ""
        every = " (every region of the box)" if h.regions == "all" else ""
        return f"{h.n_regions} regions{every}{left}, {kind} mean faces {h.mean:.2f}, max {h.max}, simple {h.simple_fraction:.0%}{b}"

    # -- private methods compute ----------------------------------------------------------------
    def _net(self, pl_module: pl.LightningModule) -> torch.nn.Module:
        """The network, checked against the forward at every run (read-only: a derived network is fine); with
        ``input_shape``, the module (or the ``network`` submodule) traced and checked by pwl_regions."""
        return analysed_network(pl_module, self.network, self._check_x, self._shape, type(self).__name__)

    def _dim(self) -> int:
        assert self._shape is not None
        return math.prod(self._shape)

    def _method(self, d: int) -> FaceMethod:
        if self.method != "auto":
            return self.method  # type: ignore[return-value]
        return "auto" if d <= self.exact_max_dim and self._shape is None else "estimate"

    def _points(self, d: int) -> torch.Tensor | None:
        """The training points for ``points="train"``; ``None``: the core draws the seeded uniform points."""
        if self.points == "uniform":
            if self.sample_box is None:
                return None
            g = torch.Generator().manual_seed(self.seed)  # the same points on every rank
            cube = (2 * torch.rand(self.n_points, d, generator=g, dtype=torch.float64) - 1) * self.sample_box
            return cube if self._shape is None else cube.reshape(-1, *self._shape)
        assert self._train is not None, "setup() reads the training points"
        x = self._train.flatten(1)
        if x.shape[1] != d:
            raise MisconfigurationException(f"points='train' needs {d} features per sample, got {x.shape[1]}")
        return x.double() if self._shape is None else x.double().reshape(-1, *self._shape)

    def _cheaper_hint(self, method: str) -> str:
        hints = ["lower `n_points`", "lower `max_seconds`" if self.max_seconds is not None else "set `max_seconds`"]
        hints.append("run less often")
        if method != "estimate":
            hints.append("use method='estimate'")
        return ", ".join(hints)

    def _progress(self, trainer: pl.Trainer) -> _ProgressBar | None:
        # a Trainer without a progress bar (`enable_progress_bar=False`) gets none from the callback either
        if not (self.progress and trainer.is_global_zero and trainer.progress_bar_callback is not None):
            return None
        budget = f", budget {self.max_seconds:g} s" if self.max_seconds is not None else ""
        return _ProgressBar(f"face histogram (regions{budget})")

    def _compute(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> FaceHistogram:
        start = time.perf_counter()  # the budget holds for the whole call, the network's check included
        net = self._net(pl_module)
        d = network_architecture(net)[0] if self._shape is None else self._dim()
        method = self._method(d)
        world = trainer.world_size
        bar = self._progress(trainer)
        left = None if self.max_seconds is None else max(self.max_seconds - (time.perf_counter() - start), 1e-3)
        try:
            hist = face_histogram(
                net,
                self._points(d),
                n_points=self.n_points,
                box=self.box,
                method=method,
                seed=self.seed,
                patience=self.patience,
                max_rays=self.max_rays,
                max_seconds=left,
                shard=(trainer.global_rank, world),
                on_progress=bar,
                all_reduce_sum=(lambda t: self._sum_over_ranks(trainer, t)) if world > 1 else None,
                input_shape=self._shape,
                max_memory=self.max_memory,
                regions=self.regions,
                max_regions=self.max_regions,
            )
        finally:
            if bar is not None:
                bar.close()
        hist.seconds = time.perf_counter() - start
        if hist.seconds > self.warn_seconds:
            counted = hist.n_regions + hist.n_degenerate
            rank_zero_warn(
                f"FaceHistogramCallback: {hist.seconds:.1f} s for {counted} regions "
                f"({1000 * hist.seconds / max(counted, 1):.0f} ms per region, d = {d}, method {method!r}"
                f"{f', {hist.n_uncounted} regions left uncounted by max_seconds={self.max_seconds}' if hist.n_uncounted else ''}); "
                f"{self._cheaper_hint(method)}"
            )
        return hist

    @staticmethod
    def _sum_over_ranks(trainer: pl.Trainer, t: torch.Tensor) -> torch.Tensor:
        """The sum over the ranks, on the strategy's root device (NCCL refuses CPU tensors; gloo takes both)."""
        return trainer.strategy.reduce(t.to(trainer.strategy.root_device), reduce_op="sum").to(t.device)

    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        with eval_mode(pl_module):
            hist = self._compute(trainer, pl_module)
        self.last = hist
        values, regions = hist.histogram()
        record = {"when": when, "epoch": trainer.current_epoch, "step": trainer.global_step, **hist.summary()}
        record["histogram"] = regions.tolist()
        self.history.append(record)
        self._log_scalars(trainer, pl_module, self._record_scalars("faces/", hist.summary()))
        if trainer.is_global_zero:
            self._log(trainer, hist, values, regions)

    def _log(self, trainer: pl.Trainer, hist: FaceHistogram, values: torch.Tensor, regions: torch.Tensor) -> None:
        edges = (
            torch.cat([values.double() - 0.5, values[-1:].double() + 0.5]) if len(values) else torch.tensor([0.0, 1.0])
        )
        log_histogram(trainer, "faces/histogram", regions.numpy() if len(values) else [0], edges.numpy())
        if self.plot:
            kind = "exact" if hist.exact else "estimate"
            which = "every region" if hist.regions == "all" else "sampled regions"
            title = f"{hist.architecture} ({kind}, {which}): step {trainer.global_step}"
            fig = plot_face_histogram(
                hist.counts, title, hist.bound, network_counts=hist.network_counts, whole=hist.regions == "all"
            )
            log_figure(trainer, "faces/histogram_plot", fig)
