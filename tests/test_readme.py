import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _quickstart() -> str:
    text = README.read_text()
    m = re.search(r"<!-- quickstart[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert m, "README has no quick-start block"
    return m.group(1)


def test_readme_starts_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), re.S)
    assert first_block is not None
    cmds = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert cmds == ["make demo", "make test"]


@pytest.mark.parametrize("package", ["pytorch_lightning", "lightning.pytorch"])
def test_quickstart_runs_as_written(
    package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = _quickstart()
    if package != "pytorch_lightning":
        code = code.replace("import pytorch_lightning as pl  #", f"import {package} as pl  #", 1)
    namespace: dict = {}
    exec(compile(code, "README.md:quickstart", "exec"), namespace)
    trainer = namespace["trainer"]
    assert type(trainer).__module__.startswith(package)
    assert trainer.current_epoch == 5
    assert 0.5 <= float(trainer.callback_metrics["val_acc"]) <= 1.0
    faces, drift, polish, boundary = trainer.callbacks[:4]
    assert faces.last.n_regions > 10 and len(drift.history) == 5 and polish.history[-1]["loss"] == "logistic"
    assert any(p.suffix == ".png" for p in boundary.paths)
    assert "FaceHistogramCallback" in capsys.readouterr().out
    import wandb

    wandb.finish()
