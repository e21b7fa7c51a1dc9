"""A cell: one (dataset, split fold, model configuration, seed), as plain serialisable data.

A cell holds no live objects, so any worker that has the same plugins installed can execute
it on its own: it reloads the dataset, recomputes the split and checks the fold's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


def stable_hash(value: Any, length: int = 16) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Cell:
    suite: str
    task: str
    dataset: str  # label in the suite
    dataset_plugin: str
    dataset_options: dict[str, Any]
    dataset_checksum: str  # of the parsed content, as planned
    split: str
    split_params: dict[str, Any]
    seed: int
    fold: int  # position in the split's fold list
    fold_name: str
    fingerprint: str  # expected fingerprint of the fold
    model: str  # label of the configuration
    model_plugin: str
    params: dict[str, Any]
    metrics: list[str]
    data_dir: str | None = None
    plugins: list[str] = field(default_factory=list)  # local plugin files the worker must load

    @property
    def config_id(self) -> str:
        """Identifies the model configuration across runs: plugin + parameters + seed."""
        return stable_hash({"model": self.model_plugin, "params": self.params, "seed": self.seed})

    @property
    def id(self) -> str:
        """Identifies the cell: what data, which rows, which model configuration."""
        return stable_hash({"dataset": self.dataset_plugin, "options": self.dataset_options,
                            "checksum": self.dataset_checksum,
                            "split": self.split, "split_params": self.split_params,
                            "fold": self.fold, "fingerprint": self.fingerprint,
                            "config": self.config_id, "metrics": sorted(self.metrics)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cell:
        return cls(**data)
