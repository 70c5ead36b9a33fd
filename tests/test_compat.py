"""Only ``lightning_poly/_compat.py`` touches private names of Lightning, wandb and torch.

A private name is one starting with a single underscore. The scan reads every module's syntax tree and flags, outside
``_compat.py``: imports of such a name (or from such a module) of those packages, and attribute reads of, or
``getattr``/``hasattr``/``setattr`` on, an underscored name that ``lightning_poly`` itself never defines (so the
suite's own private helpers and attributes pass; the frameworks' do not).
"""

from __future__ import annotations

import ast
from pathlib import Path

import lightning_poly

FOREIGN = ("torch", "pytorch_lightning", "lightning", "lightning_fabric", "lightning_utilities", "wandb")
PACKAGE = Path(lightning_poly.__file__).parent
ALLOWED = PACKAGE / "_compat.py"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined(trees: list[ast.AST]) -> set[str]:
    """Every name the package defines or binds: functions, classes, assigned names and attributes, arguments."""
    names: set[str] = set()
    for tree in trees:
        for n in ast.walk(tree):
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(n.name)
            elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store):
                names.add(n.attr)
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                names.add(n.id)
            elif isinstance(n, ast.arg):
                names.add(n.arg)
            elif isinstance(n, ast.alias) and not (n.asname or n.name).startswith(FOREIGN):
                names.add(n.asname or n.name)
    return names


def private_uses(source: str, defined: set[str]) -> list[str]:
    """What a module's source touches of the frameworks' private names (``"line: what"``)."""
    found = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.ImportFrom) and n.module and n.module.split(".")[0] in FOREIGN:
            parts = n.module.split(".")
            found += [f"{n.lineno}: from {n.module} import {a.name}" for a in n.names if _private(a.name)]
            if any(_private(p) for p in parts):
                found.append(f"{n.lineno}: from {n.module}")
        elif isinstance(n, ast.Import):
            found += [
                f"{n.lineno}: import {a.name}"
                for a in n.names
                if a.name.split(".")[0] in FOREIGN and any(_private(p) for p in a.name.split("."))
            ]
        elif isinstance(n, ast.Attribute) and _private(n.attr) and n.attr not in defined:
            found.append(f"{n.lineno}: .{n.attr}")
        elif (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id in ("getattr", "hasattr", "setattr", "delattr")
            and len(n.args) >= 2
            and isinstance(n.args[1], ast.Constant)
            and isinstance(n.args[1].value, str)
            and _private(n.args[1].value)
            and n.args[1].value not in defined
        ):
            found.append(f"{n.lineno}: {n.func.id}(..., {n.args[1].value!r})")
    return found


def _modules() -> dict[Path, str]:
    return {p: p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}


def test_only_the_compat_module_touches_private_names_of_the_frameworks() -> None:
    sources = _modules()
    defined = _defined([ast.parse(s) for s in sources.values()])
    bad = {
        str(p.relative_to(PACKAGE.parent)): uses
        for p, s in sources.items()
        if p != ALLOWED and (uses := private_uses(s, defined))
    }
    assert bad == {}, f"private names of {FOREIGN} outside _compat.py: {bad}"
    # ... and the compat module does touch them (the scan sees what it is meant to see)
    assert private_uses(sources[ALLOWED], defined)


def test_the_scan_flags_each_kind_of_use() -> None:
    source = (
        "from torch.nn.modules.utils import _pair\n"
        "from torch._C import Graph\n"
        "import torch._dynamo\n"
        "x = trainer.fit_loop._data_source\n"
        "y = getattr(logger, '_experiment', None)\n"
        "z = self._mine\n"
    )
    uses = private_uses(source, defined={"_mine"})
    assert [u.split(": ", 1)[1] for u in uses] == [
        "from torch.nn.modules.utils import _pair",
        "from torch._C",
        "import torch._dynamo",
        "._data_source",
        "getattr(..., '_experiment')",
    ]


def test_a_missing_private_name_says_which_package_and_version() -> None:
    import pytest
    from torch import nn

    from lightning_poly._compat import FrameworkChanged, conv_padding

    class NotAConv(nn.Module):
        pass

    with pytest.raises(FrameworkChanged, match=r"NotAConv._reversed_padding_repeated_twice of torch 2\.\d+"):
        conv_padding(NotAConv())


def test_geometry_modules_share_no_private_names_but_the_faces_package_internals() -> None:
    """Across ``geometry/`` modules, private names are imported only inside ``geometry/faces/`` (its methods'
    internals); everything shared otherwise has a public name (``network_view``, ``_rows``' helpers)."""
    geometry = PACKAGE / "geometry"
    bad = []
    for path in sorted(geometry.rglob("*.py")):
        inside_faces = (geometry / "faces") in path.parents
        for n in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("lightning_poly.geometry")):
                continue
            if inside_faces and n.module.startswith("lightning_poly.geometry.faces"):
                continue
            bad += [f"{path.relative_to(PACKAGE)}:{n.lineno}: {n.module}.{a.name}" for a in n.names if _private(a.name)]
    assert bad == []
