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


def test_quickstart_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_quickstart(), "README.md:quickstart", "exec"), namespace)
    trainer = namespace["trainer"]
    assert trainer.current_epoch == 5
    assert 0.5 <= float(trainer.callback_metrics["val/acc"]) <= 1.0
    assert any(p.suffix == ".png" for cb in trainer.callbacks for p in getattr(cb, "paths", []))
