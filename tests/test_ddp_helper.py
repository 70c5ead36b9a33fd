import pytest

from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.modules import ReLUMLPModule
from tests.helpers.ddp import assert_same_tensors, run_ddp_fit


@pytest.mark.ddp
def test_two_process_ddp_ranks_end_identical(tmp_path) -> None:  # type: ignore[no-untyped-def]
    states = run_ddp_fit(
        ReLUMLPModule(input_dim=2, hidden=[8]), SyntheticDataModule("xor", n_samples=64, batch_size=8), tmp_path
    )
    assert [s["global_step"] for s in states] == [states[0]["global_step"]] * 2
    # 64 * 0.8 = 51 training samples over 2 ranks, 8 per batch -> 4 steps per epoch, 2 epochs
    assert states[0]["global_step"] == 8
    assert_same_tensors(states[0]["model"], states[1]["model"])
