"""Face-histogram experiments of "Deep ReLU Networks Have Surprisingly Simple Polytopes".

Small defaults run in seconds to a minute on a 2-core CPU; flags give the paper's sizes.

    python examples/papers/face_histograms.py init        # Figure 4 / Section V.A: initialisations
    python examples/papers/face_histograms.py depth       # Figure 5: depth and width
    python examples/papers/face_histograms.py bias        # Figure 6: bias values
    python examples/papers/face_histograms.py train       # Figure 7's protocol during training
    python examples/papers/face_histograms.py table1      # Table I: maximum #simplices vs Theorems 1-2
    python examples/papers/face_histograms.py lenet       # Section V.C, Figures 8-9: a LeNet-5 on images
    python examples/papers/face_histograms.py sections    # Figure 10: cross-sections of 784-7-7-6-10 in training

Each prints a table (a row per task as it ends, with the time spent and an estimate of the time left)
and saves figures under ``--out`` (default ``runs/face_histograms``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lightning_poly.pipelines import TaskProgress
from lightning_poly.pipelines.face_histograms import (
    HistogramSetting,
    HistogramStudyRow,
    SimplicesRow,
    bias_settings,
    depth_settings,
    histogram_study,
    histograms_during_training,
    init_settings,
    lenet5_one_conv,
    lenet_faces,
    sections_during_training,
    simplices_table,
)

__all__ = ["lenet5_one_conv", "main"]


def _row(cells: list[object], widths: list[int]) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))


def _study(settings: list[HistogramSetting], args: argparse.Namespace) -> None:
    widths = [28, 9, 14, 12, 10, 10]
    print(_row(["setting", "regions", "mean faces", "max faces", "simple", "seconds"], widths))
    progress = TaskProgress(len(settings))

    def show(r: HistogramStudyRow) -> None:
        cells = [r.setting.label, round(r.regions), f"{r.mean_faces:.2f} ± {r.sd_faces:.2f}", r.max_faces,
                 f"{r.simple_fraction:.0%}", f"{r.seconds:.1f}"]  # fmt: skip
        print(progress.line(_row(cells, widths)), flush=True)

    histogram_study(settings, repeats=args.repeats, n_points=args.points, out=args.out, on_row=show)


def cmd_init(args: argparse.Namespace) -> None:
    _study(init_settings(), args)


def cmd_depth(args: argparse.Namespace) -> None:
    _study(depth_settings(args.widths, args.depths), args)


def cmd_bias(args: argparse.Namespace) -> None:
    _study(bias_settings(), args)


def cmd_train(args: argparse.Namespace) -> None:
    history, acc = histograms_during_training(epochs=args.epochs, n_points=args.points, out=args.out,
                                              hidden=args.hidden, lr=args.lr, box=args.box)  # fmt: skip
    print(f"val accuracy {acc:.3f}")
    w = [9, 6, 8, 11, 5, 9, 30]
    print(_row(["when", "epoch", "regions", "mean faces", "max", "simple", "histogram (faces 0..)"], w))
    for h in history:
        hist = h["histogram"]
        lo = next((i for i, v in enumerate(hist) if v), 0)
        print(_row([h["when"], h["epoch"], h["regions"], f"{h['mean_faces']:.2f}", h["max_faces"],
                    f"{h['simple_fraction']:.2%}", f"{lo}: {hist[lo:]}"], w))  # fmt: skip


def cmd_table1(args: argparse.Namespace) -> None:
    w = [8, 12, 12, 12, 12, 16, 12, 8, 8]
    print(f"maximum #simplices over {args.repeats} initialisations (biases: {args.bias_init}), by the vertex each "
          f"region's pulling triangulation pulls from")  # fmt: skip
    head = ["net", "upper Thm 1", "most facets", "fewest simpl.", "most simpl.", "paper enumeration", "lower Thm 2",
            "regions", "box"]  # fmt: skip
    print(_row(head, w))
    progress = TaskProgress(len(args.widths))

    def show(r: SimplicesRow) -> None:
        cells = [f"3-{r.width}-1", r.upper, *r.most.values(), "" if r.paper is None else r.paper, round(r.lower),
                 r.regions, f"{r.box:.0f}"]  # fmt: skip
        print(progress.line(_row(cells, w)), flush=True)

    simplices_table(args.widths, repeats=args.repeats, box=args.box, bias_init=args.bias_init, on_row=show)


def cmd_lenet(args: argparse.Namespace) -> None:
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"  {done}/{total} regions counted, {time.perf_counter() - start:.0f} s", flush=True)

    res = lenet_faces(epochs=args.epochs, points=args.points, patience=args.patience, max_rays=args.max_rays,
                      max_seconds=args.max_seconds, box=args.box, seed=args.seed, n_train=args.n_train, out=args.out,
                      on_progress=progress)  # fmt: skip
    h, rows, counted = res.histogram, res.rows, res.counted
    print(f"LeNet-5 without C3 on Fashion-MNIST: {args.epochs} epochs in {res.train_seconds:.0f} s, "
          f"held-out accuracy {res.accuracy:.3f}")  # fmt: skip
    print(f"{counted} of {h.n_points} points' regions counted in {h.seconds:.0f} s ({h.n_uncounted} left by "
          f"--max-seconds {args.max_seconds}; {h.n_degenerate} degenerate); {rows:,} inequalities per region "
          f"({rows - 2 * 784:,} units + {2 * 784:,} box rows of [-{args.box:g}, {args.box:g}]^784)")  # fmt: skip
    w = [26, 12, 12, 22]
    print(_row(["", "ours", "paper (MNIST)", "note"], w))
    if counted:
        print(_row(["inequalities per region", f"{rows:,}", "26,796", "paper's network is larger"], w))
        print(_row(["faces per region: mean", f"{h.counts.double().mean():.0f}", "1,677", "box faces included"], w))
        print(_row(["faces per region: max", int(h.counts.max()), "< 2,000", ""], w))
        print(_row(["  of them on the box (mean)", f"{res.box_faces.double().mean():.0f}", "", ""], w))
        print(_row(["rays (iterations): mean", f"{res.rays.mean():,.0f}", "~120,000", f"patience {args.patience}"], w))
        print(_row(["stopped by the rule", res.stopped_by_rule, "all", f"of {counted}; the rest at --max-rays"], w))
    print(json.dumps(res.record()))


def cmd_sections(args: argparse.Namespace) -> None:
    sections = sections_during_training(epochs=args.epochs, extent=args.extent, resolution=args.resolution,
                                        every_n_epochs=args.every_n_epochs, init=args.init, seed=args.seed,
                                        n_train=args.n_train, out=args.out)  # fmt: skip
    w = [12, 9, 12, 22, 30]
    print(_row(["after", "regions", "mean edges", "triangles + quads", "regions by edges (3, 4, 5, ...)"], w))
    for rec, _ in sections:
        hist = rec["histogram"]
        small = sum(hist[3:5]) / max(sum(hist), 1)
        print(_row([rec["label"], rec["regions"], f"{rec['mean_faces']:.2f}", f"{small:.0%}", hist[3:]], w))
    print(json.dumps({"experiment": "sections", "epochs": args.epochs, "init": args.init, "seed": args.seed,
                      "sections": [{k: rec[k] for k in ("label", "regions", "mean_faces", "histogram")}
                                   for rec, _ in sections]}))  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/face_histograms"))
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, reps in (("init", 2), ("depth", 1), ("bias", 2)):
        s = sub.add_parser(name)
        s.add_argument("--repeats", type=int, default=reps, help="paper: 5")
        s.add_argument("--points", type=int, default=8000, help="paper: 8000")
        if name == "depth":
            s.add_argument("--widths", type=int, nargs="+", default=[20, 40], help="paper: 20 40 80 160")
            s.add_argument("--depths", type=int, nargs="+", default=[5], help="paper: 5 8")
    s = sub.add_parser("train")
    s.add_argument("--epochs", type=int, default=400, help="paper: 400")
    s.add_argument("--points", type=int, default=8000, help="paper: 8000 in [-1, 1]^5")
    s.add_argument("--hidden", type=int, nargs="+", default=[20, 20], help="paper: 20 20")
    s.add_argument("--lr", type=float, default=0.1, help="paper: Adam, 0.1")
    s.add_argument("--box", type=float, default=5.0, help="paper: [-5, 5]^5 bounds the regions")
    s = sub.add_parser("table1")
    s.add_argument("--widths", type=int, nargs="+", default=[7, 8, 9, 10])
    s.add_argument("--repeats", type=int, default=10, help="paper: 10")
    s.add_argument(
        "--box",
        type=float,
        default=None,
        help="half-width of C(d, B), 'large enough' (default: each network's arrangement's vertices fit)",
    )
    s.add_argument(
        "--bias-init",
        default="xavier_augmented",
        choices=["xavier_augmented", "uniform_half"],
        help="paper: all parameters Xavier uniform; uniform_half: biases U(-0.5, 0.5) (earlier protocol)",
    )
    s = sub.add_parser("lenet")
    s.add_argument("--epochs", type=int, default=3)
    s.add_argument("--points", type=int, default=200, help="paper: 200")
    s.add_argument("--patience", type=int, default=1000, help="paper: 1000")
    s.add_argument("--max-rays", type=int, default=400_000, help="most rays per region")
    s.add_argument("--max-seconds", type=float, default=900.0, help="budget of the counting (regions left uncounted)")
    s.add_argument("--box", type=float, default=1.0, help="half-width of the box that bounds the regions")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n-train", type=int, default=None, help="first training images (default all 54,000)")
    s = sub.add_parser("sections")
    s.add_argument("--epochs", type=int, default=480, help="paper: 480")
    s.add_argument("--every-n-epochs", type=int, default=60, help="a section every this many epochs")
    s.add_argument("--init", default="kaiming_normal", help="paper: Kaiming normal")
    s.add_argument("--extent", type=float, default=60.0, help="the plane spans [-extent, extent]^2 around the image")
    s.add_argument("--resolution", type=int, default=200)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n-train", type=int, default=None, help="first training images (default all 54,000)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    commands = {"init": cmd_init, "depth": cmd_depth, "bias": cmd_bias, "train": cmd_train, "table1": cmd_table1}
    commands.update(lenet=cmd_lenet, sections=cmd_sections)
    commands[args.cmd](args)
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
