import subprocess
import sys

CORE = [
    "lightning_poly",
    "lightning_poly.nn",
    "lightning_poly.data",
    "lightning_poly.geometry",
    "lightning_poly.algorithms",
    "lightning_poly.solvers",
    "lightning_poly.plotting",
]


def test_core_imports_without_lightning() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pytorch_lightning', 'lightning', 'lightning_fabric'))\n"
        + "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_glue_packages_import() -> None:
    import lightning_poly
    from lightning_poly import callbacks, datamodules, modules

    assert lightning_poly.callbacks is callbacks
    assert hasattr(callbacks, "DecisionBoundaryCallback")
    assert hasattr(datamodules, "FashionMNISTDataModule")
    assert hasattr(modules, "ReLUMLPModule")


def test_highs_writes_nothing_to_stdout() -> None:
    """HiGHS prints a banner from C++ when its first instance is built; the library's LPs print nothing."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from lightning_poly.solvers.lp import IncrementalLP, maximize\n"
        "assert maximize(np.ones(2), np.eye(2), np.ones(2))[0] == 2.0\n"
        "IncrementalLP(2)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "", out.stdout


def test_no_public_name_reads_as_pytorch_lightning() -> None:
    """``pl`` is ``pytorch_lightning`` in every glue file: piecewise-linear names say ``pwl``."""
    import importlib
    import pkgutil

    import lightning_poly

    bad = []
    for info in pkgutil.walk_packages(lightning_poly.__path__, "lightning_poly."):
        module = importlib.import_module(info.name)
        bad += [
            f"{info.name}.{n}"
            for n in getattr(module, "__all__", [])
            if n.lower().startswith("pl_") or n.startswith("PL")
        ]
    assert bad == []
