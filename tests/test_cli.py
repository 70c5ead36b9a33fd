from pathlib import Path

import pytest

from lightning_poly.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_demo_config_runs_through_cli_and_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "fit",
            "--config",
            str(ROOT / "examples/configs/demo.yaml"),
            "--trainer.max_epochs=3",
            f"--trainer.default_root_dir={tmp_path}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            "--data.init_args.n_samples=200",
        ]
    )
    out = capsys.readouterr().out
    assert "lightning_poly run summary" in out and "val/acc" in out
    assert "wandb run (offline)" in out and "wandb sync" in out
    pngs = list(tmp_path.glob("wandb/offline-run-*/files/lightning_poly/decision_regions_*.png"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 1000


@pytest.mark.parametrize("config", sorted((ROOT / "examples/configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_config_parses(config: Path) -> None:
    # `--print_config` parses and validates the whole configuration, then exits 0
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(config), "--print_config"])
    assert exit_info.value.code in (0, None)


def test_bad_cli_value_names_the_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "fit",
                "--config",
                str(ROOT / "examples/configs/demo.yaml"),
                "--data.init_args.name=mandelbrot",
                "--trainer.fast_dev_run=true",
            ]
        )
    assert exit_info.value.code != 0
    assert "mandelbrot" in capsys.readouterr().err


def test_demo_config_runs_under_the_lightning_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "fit",
            "--config",
            str(ROOT / "examples/configs/demo.yaml"),
            "--trainer.max_epochs=2",
            f"--trainer.default_root_dir={tmp_path}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            "--data.init_args.n_samples=200",
        ],
        package="lightning.pytorch",
    )
    out = capsys.readouterr().out
    assert "lightning_poly run summary" in out and "PolishingCallback:" in out
    pngs = list(tmp_path.glob("wandb/offline-run-*/files/lightning_poly/decision_regions_*.png"))
    assert len(pngs) == 1
    import wandb

    wandb.finish()


def test_cli_summary_lists_only_this_runs_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    stale = tmp_path / "media" / "from_an_earlier_run_step0000007.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"not this run")
    os.utime(stale, (1.0e9, 1.0e9))
    main([
        "fit", "--config", str(ROOT / "examples/configs/demo.yaml"), "--trainer.max_epochs=1",
        f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false", "--data.init_args.n_samples=100",
    ])  # fmt: skip
    out = capsys.readouterr().out
    listed = int(out.split("  plots (")[1].split(")")[0])
    on_disk = sorted(p.name for p in (tmp_path / "media").glob("*.png"))
    assert stale.name in on_disk and stale.name not in out
    assert listed == len(on_disk) - 1 >= 1
