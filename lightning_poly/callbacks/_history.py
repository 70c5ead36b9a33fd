"""Checkpointed history shared by the suite's callbacks."""

from __future__ import annotations

from typing import Any

from typing_extensions import override


class HistoryState:
    """A list of plain records that survives checkpoint resume (``state_dict``/``load_state_dict``).

    Mixed in before ``Callback``, whose hooks these override. Older checkpoints without the key load
    as an empty history.
    """

    history: list[dict[str, Any]]

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(h) for h in self.history]}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [dict(h) for h in state_dict.get("history", [])]
