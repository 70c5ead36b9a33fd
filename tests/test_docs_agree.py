"""The README quotes docs/results.md: every measured number in the README's prose and tables is found there."""

import re
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(?<![\w.\-/^])(\d+(?:,\d{3})*(?:\.\d+)?(?:e[-−]?\d+)?)")
VERSION = re.compile(r"\b(?:Python|torch|Lightning|lightning|CUDA)\s+\d+(?:\.\d+)*(?:-\d+(?:\.\d+)*)?")


def _prose(text: str) -> str:
    """The text without code blocks, code spans, link targets and version numbers (not results)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return VERSION.sub("", text)


def _numbers(text: str) -> list[str]:
    return [m.group(1).replace(",", "").replace("−", "-") for m in NUMBER.finditer(text.replace("·10^", "e"))]


def _quoted(token: str, values: list[float]) -> bool:
    """Whether some value of the results rounds to ``token`` at the token's own precision (0.302 is 3.02e-01,
    12.0 is 11.97, 125 is 124.9)."""
    d = Decimal(token)
    half = 0.5 * 10 ** (d.adjusted() - len(d.as_tuple().digits) + 1)
    return any(abs(v - float(d)) <= half * (1 + 1e-9) for v in values)


def _measured(token: str) -> bool:
    """Numbers that carry a measurement: a decimal point, an exponent or three significant digits."""
    return "." in token or "e" in token or len(Decimal(token).as_tuple().digits) >= 3


def test_every_measured_number_of_the_readme_is_in_the_results() -> None:
    values = [float(t) for t in _numbers((ROOT / "docs" / "results.md").read_text())]
    quoted = [t for t in _numbers(_prose((ROOT / "README.md").read_text())) if _measured(t)]
    assert len(quoted) > 50  # the README's tables and headlines are read
    missing = [t for t in quoted if not _quoted(t, values)]
    assert not missing, f"README numbers not in docs/results.md: {missing}"


def test_the_check_finds_a_number_that_drifted() -> None:
    values = [0.302, 11.97, 124.9, 2.3e-9]
    assert all(_quoted(t, values) for t in ("0.302", "12.0", "125", "2.3e-9"))
    assert not any(_quoted(t, values) for t in ("0.303", "12.1", "127", "2.4e-9"))
