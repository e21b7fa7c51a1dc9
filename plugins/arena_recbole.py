"""RecBole's general recommenders (https://recbole.io, 1.2) as models of bench's ``ranking`` task,
and its sequential ones (``recbole-sasrec``, ``recbole-gru4rec``) as models of ``next-item``.

Each ``recbole-*`` model writes the cell's training interactions as RecBole atomic files
(``bench.train.inter``: user and item tokens, no rating: RecBole's default ``load_col``), builds
RecBole's dataset, sampler and training loader from them alone (no split of RecBole's own: all
of the fold's training data trains the model), fits with RecBole's trainer (no validation, no
checkpoint) and scores every item with the model's ``full_sort_predict``. The candidates, the
relevance threshold, the tie rule and the metrics are bench's, never RecBole's evaluator.
Parameters are RecBole's, with RecBole's names and defaults (each model's own ``properties``
plus the training ones: ``epochs``, ``learning_rate``, ``train_batch_size``), listed in each class
so that ``bench plugins recbole-bpr`` shows them; ``seed`` follows the suite seed unless set.

A user RecBole does not know (no training interaction) scores 0 for every item; items without a
training interaction rank last, as for every ranking model. ``recbole-pop`` is RecBole's Pop as
it is: it counts an item at most once per training batch, so its ranking depends on
``train_batch_size`` (``docs/arena.md``).

The sequential models (:class:`RecBoleSequential`) are trained on RecBole's augmented rows
(target item, the items before it in time order, at most ``max_seq_length``) that bench builds
from each user's time-ordered training interactions, and score every item from the user's
training sequence; the split, candidates and metrics are the ``next-item`` task's.

**RecBole needs an environment**: it pins ``ray<=2.6.3`` and PyTorch, and its 1.2.1 release
predates numpy 2 and pandas 3. A suite declares one (``torch==2.13.0`` keeps pip on the CPU wheel)::

    environments:
      recbole: {requirements: ["recbole==1.2.1", "torch==2.13.0"]}
    models:
      - {name: recbole-bpr, env: recbole, params: {epochs: 100}}

RecBole and PyTorch are imported inside ``fit`` only.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from benchmark.api import ModelSpec, PluginInputError, hookimpl
from benchmark.ranking import Interactions, Sequences
from bench_plugins.arena_base import ArenaModel, model_specs
from bench_plugins.next_item import METRICS_SHARED, NEXT_ITEM
from bench_plugins.ranking_core import RANKING

RECBOLE = {"recbole": "recbole", "torch": "torch"}
DATASET = "bench"
PAIRS = 1 << 18
"""(user, item) pairs predicted at once by a model without ``full_sort_predict`` (NeuMF)."""
NON_SAMPLING: Mapping[str, Any] = {"train_neg_sample_args": None}
"""RecBole's setting for models that train without sampled negatives (its documentation's)."""


class RecBoleModel(ArenaModel):
    """Fit ``recbole.model.general_recommender.<recbole_model>`` on the training interactions;
    score every item with ``full_sort_predict``.

    A subclass names the RecBole model and lists its parameters in ``__init__`` with RecBole's
    defaults; ``fixed`` holds settings the model needs whatever the user asks (non-sampling).
    The docs of the parameters several models take are here (``param_docs``:
    :mod:`bench_plugins.arena_base`)."""

    requires = RECBOLE
    recbole_model: ClassVar[str] = ""
    fixed: ClassVar[Mapping[str, Any]] = {}
    bench_only = ("use_gpu",)  # passed as RecBole's use_gpu below, whether the model takes it or not
    param_docs = {**ArenaModel.param_docs, "seed": "RecBole's seed (the suite seed unless set)."}
    seed: int | None
    use_gpu: bool = False

    def library_params(self) -> dict[str, Any]:
        """RecBole's configuration: this object's parameters (bench's own left out), ``fixed``,
        and what keeps RecBole quiet and inside its temporary folder."""
        params = self.own_params()
        if params.get("seed") is None:
            params.pop("seed", None)  # RecBole's own default seed (2020)
        return {**params, **self.fixed, "use_gpu": bool(getattr(self, "use_gpu", False)),
                "show_progress": False, "state": "ERROR", "save_dataset": False, "save_dataloaders": False,
                "log_wandb": False, "benchmark_filename": ["train"], "reproducibility": True}

    def prepare(self) -> None:
        """Import RecBole and PyTorch before the fit clock starts (seconds in a fresh worker,
        recorded as the cell's ``prepare_seconds``)."""
        self.require_all()
        import recbole.config  # noqa: F401
        import recbole.data  # noqa: F401
        import recbole.utils  # noqa: F401

    def fit(self, train: Interactions) -> RecBoleModel:
        """Write the training data as RecBole's atomic file (:meth:`_write_training_data`) in a
        temporary folder, train there, and keep how bench's positions map to RecBole's ids
        (:meth:`_keep_ids`)."""
        self.require_all()
        import torch

        self.train_ = train
        with tempfile.TemporaryDirectory(prefix="bench-recbole-") as folder:
            self._write_training_data(train, Path(folder))
            model, dataset = self._train(Path(folder))
        self.model_ = model.eval()
        self._keep_ids(train, model, dataset)
        self.device_ = next(iter(model.parameters()), torch.zeros(0)).device
        return self

    def _write_training_data(self, train: Interactions, folder: Path) -> None:
        """The training data as RecBole's atomic file under ``folder`` (a sequential model's: its rows)."""
        _write_atomic_files(train, folder)

    def _keep_ids(self, train: Interactions, model: Any, dataset: Any) -> None:
        """How bench's positions map to the ids of the trained model and its dataset."""
        tokens = dataset.field2id_token[dataset.uid_field]
        self.user_index_ = np.full(train.n_users, -1, dtype=np.int64)  # bench position -> RecBole's id
        self.user_index_[tokens[1:].astype(np.int64)] = np.arange(1, len(tokens))
        self.item_positions_ = dataset.field2id_token[dataset.iid_field][1:].astype(np.int64)  # RecBole's id - 1
        self.uid_field_, self.iid_field_ = dataset.uid_field, dataset.iid_field

    def _train(self, folder: Path) -> tuple[Any, Any]:
        from recbole.config import Config
        from recbole.data import create_dataset
        from recbole.data.utils import get_dataloader
        from recbole.sampler import Sampler
        from recbole.utils import get_model, get_trainer, init_seed

        argv, directory, trainer = sys.argv, os.getcwd(), None
        sys.argv = argv[:1]  # RecBole reads --key=value options from the command line
        os.chdir(folder)  # its trainer writes log_tensorboard/ and its checkpoint folder here
        try:
            config = Config(model=self.recbole_model, dataset=DATASET,
                            config_dict={**self.library_params(), "data_path": str(folder),
                                         "checkpoint_dir": str(folder / "saved")})
            init_seed(config["seed"], config["reproducibility"])
            dataset = create_dataset(config)
            (train_set,) = dataset.build()
            negatives = config["train_neg_sample_args"]
            sampler = None
            if negatives["distribution"] != "none":
                sampler = Sampler(["train"], [train_set], negatives["distribution"],
                                  negatives["alpha"]).set_phase("train")
            loader = get_dataloader(config, "train")(config, train_set, sampler, shuffle=config["shuffle"])
            init_seed(config["seed"], config["reproducibility"])
            model = get_model(self.recbole_model)(config, loader._dataset).to(config["device"])
            trainer = get_trainer(config["MODEL_TYPE"], self.recbole_model)(config, model)
            trainer.fit(loader, valid_data=None, verbose=False, saved=False, show_progress=False)
        finally:
            writer = getattr(trainer, "tensorboard", None)
            if writer is not None:  # its thread would write into the folder after it is gone
                writer.close()
            sys.argv = argv
            os.chdir(directory)
        return model, train_set

    def score(self, users: np.ndarray) -> np.ndarray:
        import torch
        from recbole.data.interaction import Interaction

        users = np.asarray(users, dtype=np.int64)
        out = np.zeros((len(users), self.train_.n_items))
        ids = self.user_index_[users]
        known = np.flatnonzero(ids >= 0)
        if len(known):
            query = Interaction({self.uid_field_: torch.as_tensor(ids[known])}).to(self.device_)
            with torch.no_grad():
                try:
                    scores = self.model_.full_sort_predict(query).reshape(len(known), -1)[:, 1:]  # 0: padding
                except NotImplementedError:  # as RecBole's evaluator: predict every (user, item) pair
                    scores = self._pairs(ids[known])
            scores = scores.detach().cpu().numpy().astype(np.float64)
            out[np.ix_(known, self.item_positions_)] = scores[:, :len(self.item_positions_)]
        return out

    def _pairs(self, ids: np.ndarray) -> Any:
        """``model.predict`` of every (user, item) pair of the batch, :data:`PAIRS` at a time."""
        import torch
        from recbole.data.interaction import Interaction

        n_items = len(self.item_positions_)
        users = torch.as_tensor(np.repeat(ids, n_items))
        items = torch.arange(1, n_items + 1).repeat(len(ids))
        parts = [self.model_.predict(Interaction({self.uid_field_: users[start:start + PAIRS],
                                                  self.iid_field_: items[start:start + PAIRS]}).to(self.device_))
                 for start in range(0, len(users), PAIRS)]
        return torch.cat(parts).reshape(len(ids), n_items)

    def info(self) -> dict[str, Any]:
        return {"library": "recbole", "recbole_model": self.recbole_model,
                "users_known": int((self.user_index_ >= 0).sum()), "items_known": len(self.item_positions_)}


def _write_atomic_files(train: Interactions, folder: Path) -> None:
    """``<folder>/bench/bench.train.inter``: one line per training interaction, the tokens being
    bench's user and item positions (RecBole maps them to its own ids)."""
    matrix = train.matrix.tocoo()
    (folder / DATASET).mkdir()
    with open(folder / DATASET / f"{DATASET}.train.inter", "w", encoding="utf-8") as handle:
        handle.write("user_id:token\titem_id:token\n")
        handle.writelines(f"{u}\t{i}\n" for u, i in zip(matrix.row.tolist(), matrix.col.tolist()))


class _Trained(RecBoleModel):
    """The training parameters every trained RecBole model shares (RecBole's overall defaults).
    PyTorch models: they declare ``uses_gpu``, so bench gives each cell one device when it has
    one (``bench run --gpus N``) and none otherwise."""

    uses_gpu = True
    constraints: ClassVar[Mapping[str, Mapping[str, Any]]] = {"epochs": {"minimum": 1},
                                                              "learning_rate": {"exclusiveMinimum": 0}}
    param_docs = {
        **RecBoleModel.param_docs,
        "epochs": "training epochs (RecBole's default 300).",
        "learning_rate": "Adam's step.",
        "train_batch_size": "interactions per training batch.",
    }

    epochs: int
    learning_rate: float
    train_batch_size: int


class RecBolePop(RecBoleModel):
    """RecBole's Pop: item counts accumulated batch by batch (an item counts once per batch).

    :param train_batch_size: interactions per training batch (RecBole's Pop counts an item at most once per
        batch, so its ranking depends on it).
    """

    recbole_model, fixed = "Pop", NON_SAMPLING

    def __init__(self, train_batch_size: int = 2048, seed: int | None = None):
        self._keep(locals())


class RecBoleEASE(RecBoleModel):
    """RecBole's EASE (Steck 2019).

    :param reg_weight: L2 regularisation added to the Gram matrix's diagonal (RecBole's default 250).
    """

    recbole_model, fixed = "EASE", NON_SAMPLING
    constraints = {"reg_weight": {"exclusiveMinimum": 0}}

    def __init__(self, reg_weight: float = 250.0, seed: int | None = None):
        self._keep(locals())


class RecBoleItemKNN(RecBoleModel):
    """RecBole's ItemKNN: cosine neighbourhood with shrinkage.

    :param k: neighbours kept per item.
    :param shrink: added to the cosine's denominator.
    """

    recbole_model, fixed = "ItemKNN", NON_SAMPLING
    constraints = {"k": {"minimum": 1}, "shrink": {"minimum": 0}}

    def __init__(self, k: int = 100, shrink: float = 0.0, seed: int | None = None):
        self._keep(locals())


class RecBoleBPR(_Trained):
    """RecBole's BPR (Rendle et al. 2009) in PyTorch, one uniform negative per positive.

    :param embedding_size: latent factors.
    """

    recbole_model = "BPR"
    constraints = {"embedding_size": {"minimum": 1}, **_Trained.constraints}

    def __init__(self, embedding_size: int = 64, epochs: int = 300, learning_rate: float = 0.001,
                 train_batch_size: int = 2048, use_gpu: bool = True, seed: int | None = None):
        self._keep(locals())


class RecBoleLightGCN(_Trained):
    """RecBole's LightGCN (He et al. 2020) in PyTorch.

    :param embedding_size: latent factors.
    :param n_layers: graph-convolution layers.
    :param reg_weight: L2 regularisation of the embeddings.
    """

    recbole_model = "LightGCN"
    constraints = {"embedding_size": {"minimum": 1}, "n_layers": {"minimum": 1}, **_Trained.constraints,
                   "reg_weight": {"minimum": 0}}

    def __init__(self, embedding_size: int = 64, n_layers: int = 2, reg_weight: float = 1e-05, epochs: int = 300,
                 learning_rate: float = 0.001, train_batch_size: int = 2048, use_gpu: bool = True,
                 seed: int | None = None):
        self._keep(locals())


class RecBoleNeuMF(_Trained):
    """RecBole's NeuMF (He et al. 2017) in PyTorch: GMF and an MLP, pointwise with sampled negatives.

    :param mf_embedding_size: latent factors of the GMF part.
    :param mlp_embedding_size: embedding size of the MLP part.
    :param mlp_hidden_size: hidden layer sizes of the MLP.
    :param dropout_prob: dropout in the MLP.
    :param mf_train: train the GMF part.
    :param mlp_train: train the MLP part.
    """

    recbole_model = "NeuMF"
    constraints = {"mf_embedding_size": {"minimum": 1}, "mlp_embedding_size": {"minimum": 1}, **_Trained.constraints}

    def __init__(self, mf_embedding_size: int = 64, mlp_embedding_size: int = 64,
                 mlp_hidden_size: list[int] | None = None, dropout_prob: float = 0.1, mf_train: bool = True,
                 mlp_train: bool = True, epochs: int = 300, learning_rate: float = 0.001,
                 train_batch_size: int = 2048, use_gpu: bool = True, seed: int | None = None):
        self._keep(locals())
        self.mlp_hidden_size = mlp_hidden_size if mlp_hidden_size is not None else [128, 64]


class RecBoleMultiVAE(_Trained):
    """RecBole's MultiVAE (Liang et al. 2018) in PyTorch (non-sampling).

    :param mlp_hidden_size: hidden layer sizes of the encoder (None: [600], RecBole's default).
    :param latent_dimension: latent dimension.
    :param dropout_prob: dropout of the input.
    :param anneal_cap: largest weight of the KL term.
    :param total_anneal_steps: steps over which the KL weight grows to anneal_cap.
    """

    recbole_model, fixed = "MultiVAE", NON_SAMPLING
    constraints = {"latent_dimension": {"minimum": 1}, **_Trained.constraints}

    def __init__(self, mlp_hidden_size: list[int] | None = None, latent_dimension: int = 128,
                 dropout_prob: float = 0.5, anneal_cap: float = 0.2, total_anneal_steps: int = 200000,
                 epochs: int = 300, learning_rate: float = 0.001, train_batch_size: int = 2048,
                 use_gpu: bool = True, seed: int | None = None):
        self._keep(locals())
        self.mlp_hidden_size = mlp_hidden_size if mlp_hidden_size is not None else [600]


# --- Sequential recommenders: models of the next-item task --------------------------------------


SEQUENTIAL_FIXED: Mapping[str, Any] = {
    **NON_SAMPLING,  # cross-entropy over every item (RecBole's default loss_type CE) draws no negatives
    "load_col": {"inter": ["user_id", "item_id", "item_id_list"]},
    "alias_of_item_id": ["item_id_list"],  # the history's tokens and the target's share one id space
    "eval_args": {"split": {"RS": [1.0, 0.0, 0.0]}, "order": "TO", "group_by": "user", "mode": "full"},
}
"""RecBole's settings for a sequential model trained on bench's rows (:func:`_write_sequences`):
its own ordering must be by time ("TO", RecBole refuses another for a sequential model; the
rows are bench's already, so nothing is split or reordered by it)."""


SEQUENTIAL_CONSTRAINTS: Mapping[str, Mapping[str, Any]] = {
    "epochs": {"minimum": 1}, "learning_rate": {"exclusiveMinimum": 0, "maximum": 1},
    "train_batch_size": {"minimum": 1}, "max_seq_length": {"minimum": 1, "maximum": 1000},
}


class RecBoleSequential(_Trained):
    """Fit ``recbole.model.sequential_recommender.<recbole_model>`` on each user's training items
    in time order; score every item from the user's training sequence with ``full_sort_predict``.

    **Training rows** are RecBole's own data augmentation, built by bench from
    :meth:`~benchmark.ranking.Interactions.sequences` (by timestamp, ties by row position, repeats
    kept): for a user with items ``s0 .. s(n-1)``, one row per ``t = 1 .. n-1`` whose target is
    ``st`` and whose ``item_id_list`` is the at most ``max_seq_length`` items before it, written
    as RecBole's atomic file with a ``token_seq`` field (``_write_sequences``). A user with one
    training item gives no row.

    **Scoring** a user reads the last ``max_seq_length`` items of the user's whole training
    sequence (the fold's held-out items come after it), so the model predicts what follows the
    training data; items RecBole never saw (only the single item of a one-item user) are left out
    of the history, and a user without any history scores 0 for every item. Candidates, relevance
    and metrics are the next-item task's (:mod:`bench_plugins.next_item`).

    A subclass names the RecBole model and lists its parameters with RecBole's names and
    defaults; ``max_seq_length`` is RecBole's ``MAX_ITEM_LIST_LENGTH``."""

    fixed = SEQUENTIAL_FIXED
    constraints = SEQUENTIAL_CONSTRAINTS
    param_docs = {
        **_Trained.param_docs,
        "max_seq_length": "items of a user's history the model reads (RecBole's MAX_ITEM_LIST_LENGTH).",
        "train_batch_size": "training sequences per batch.",
    }

    max_seq_length: int

    def library_params(self) -> dict[str, Any]:
        params = super().library_params()
        params["MAX_ITEM_LIST_LENGTH"] = params.pop("max_seq_length")
        return params

    def _write_training_data(self, train: Interactions, folder: Path) -> None:
        self.sequences_ = train.sequences()
        self.rows_ = _write_sequences(self.sequences_, folder, self.max_seq_length)
        if not self.rows_:
            raise PluginInputError(f"{self.recbole_model}: no user has two training interactions, "
                                   f"so there is no sequence to learn from")

    def _keep_ids(self, train: Interactions, model: Any, dataset: Any) -> None:
        tokens = dataset.field2id_token[dataset.iid_field]
        self.item_positions_ = tokens[1:].astype(np.int64)  # RecBole's id - 1 -> bench position
        self.item_index_ = np.zeros(train.n_items, dtype=np.int64)  # bench position -> RecBole's id (0: unknown)
        self.item_index_[self.item_positions_] = np.arange(1, len(tokens))
        self.seq_field_, self.length_field_ = model.ITEM_SEQ, model.ITEM_SEQ_LEN

    def histories(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The users' last ``max_seq_length`` training items in RecBole's ids, oldest first and
        padded with 0 at the end (RecBole's layout), and each history's length."""
        rows = []
        for user in np.asarray(users, dtype=np.int64):
            ids = self.item_index_[self.sequences_.of(int(user))]
            rows.append(ids[ids > 0][-self.max_seq_length:])
        lengths = np.array([len(row) for row in rows], dtype=np.int64)
        padded = np.zeros((len(rows), max(1, int(lengths.max(initial=0)))), dtype=np.int64)
        for index, row in enumerate(rows):
            padded[index, :len(row)] = row
        return padded, lengths

    def score(self, users: np.ndarray) -> np.ndarray:
        import torch
        from recbole.data.interaction import Interaction

        users = np.asarray(users, dtype=np.int64)
        out = np.zeros((len(users), self.train_.n_items))
        padded, lengths = self.histories(users)
        known = np.flatnonzero(lengths > 0)
        if len(known):
            query = Interaction({self.seq_field_: torch.as_tensor(padded[known]),
                                 self.length_field_: torch.as_tensor(lengths[known])}).to(self.device_)
            with torch.no_grad():
                scores = self.model_.full_sort_predict(query).reshape(len(known), -1)[:, 1:]  # 0: padding
            values = scores.detach().cpu().numpy().astype(np.float64)
            out[np.ix_(known, self.item_positions_)] = values[:, :len(self.item_positions_)]
        return out

    def info(self) -> dict[str, Any]:
        return {"library": "recbole", "recbole_model": self.recbole_model, "training_rows": self.rows_,
                "items_known": len(self.item_positions_), "max_seq_length": self.max_seq_length}


def _write_sequences(sequences: Sequences, folder: Path, max_length: int) -> int:
    """``<folder>/bench/bench.train.inter`` with RecBole's augmented rows (user, target item, the
    at most ``max_length`` items before it, space-separated), tokens being bench's positions;
    returns how many rows it wrote."""
    (folder / DATASET).mkdir()
    rows = 0
    with open(folder / DATASET / f"{DATASET}.train.inter", "w", encoding="utf-8") as handle:
        handle.write("user_id:token\titem_id:token\titem_id_list:token_seq\n")
        for user in range(len(sequences)):
            items = sequences.of(user).tolist()
            handle.writelines(f"{user}\t{items[t]}\t{' '.join(map(str, items[max(0, t - max_length):t]))}\n"
                              for t in range(1, len(items)))
            rows += max(0, len(items) - 1)
    return rows


class RecBoleSASRec(RecBoleSequential):
    """RecBole's SASRec (Kang & McAuley 2018): self-attention over the user's last items,
    trained with cross-entropy over every item (RecBole's default ``loss_type: CE``).

    :param hidden_size: embedding size of items and positions (and of the attention layers).
    :param n_layers: transformer layers.
    :param n_heads: attention heads (must divide hidden_size).
    :param inner_size: hidden size of the feed-forward layer.
    :param hidden_dropout_prob: dropout of the hidden layers.
    :param attn_dropout_prob: dropout of the attention scores.
    """

    recbole_model = "SASRec"
    constraints = {**RecBoleSequential.constraints, "hidden_size": {"minimum": 1}, "n_layers": {"minimum": 1},
                   "n_heads": {"minimum": 1}, "inner_size": {"minimum": 1},
                   "hidden_dropout_prob": {"minimum": 0, "exclusiveMaximum": 1},
                   "attn_dropout_prob": {"minimum": 0, "exclusiveMaximum": 1}}

    def __init__(self, hidden_size: int = 64, n_layers: int = 2, n_heads: int = 2, inner_size: int = 256,
                 hidden_dropout_prob: float = 0.5, attn_dropout_prob: float = 0.5, max_seq_length: int = 50,
                 epochs: int = 300, learning_rate: float = 0.001, train_batch_size: int = 2048,
                 use_gpu: bool = True, seed: int | None = None):
        self._keep(locals())


class RecBoleGRU4Rec(RecBoleSequential):
    """RecBole's GRU4Rec (Hidasi et al. 2016, Tan et al. 2016's improvements): a GRU over the
    user's last items, trained with cross-entropy over every item (RecBole's default ``loss_type: CE``).

    :param embedding_size: embedding size of items.
    :param hidden_size: GRU hidden state size.
    :param num_layers: GRU layers.
    :param dropout_prob: dropout of the item embeddings.
    """

    recbole_model = "GRU4Rec"
    constraints = {**RecBoleSequential.constraints, "embedding_size": {"minimum": 1}, "hidden_size": {"minimum": 1},
                   "num_layers": {"minimum": 1}, "dropout_prob": {"minimum": 0, "exclusiveMaximum": 1}}

    def __init__(self, embedding_size: int = 64, hidden_size: int = 128, num_layers: int = 1,
                 dropout_prob: float = 0.3, max_seq_length: int = 50, epochs: int = 300,
                 learning_rate: float = 0.001, train_batch_size: int = 2048, use_gpu: bool = True,
                 seed: int | None = None):
        self._keep(locals())


MODELS: dict[str, tuple[type[RecBoleModel], str]] = {
    "recbole-pop": (RecBolePop, "RecBole's Pop (counts an item once per training batch)"),
    "recbole-ease": (RecBoleEASE, "RecBole's EASE (Steck 2019)"),
    "recbole-item-knn": (RecBoleItemKNN, "RecBole's item-based kNN"),
    "recbole-bpr": (RecBoleBPR, "RecBole's BPR (Rendle et al. 2009), PyTorch"),
    "recbole-lightgcn": (RecBoleLightGCN, "RecBole's LightGCN (He et al. 2020), PyTorch"),
    "recbole-neumf": (RecBoleNeuMF, "RecBole's NeuMF (He et al. 2017), PyTorch"),
    "recbole-multivae": (RecBoleMultiVAE, "RecBole's Mult-VAE (Liang et al. 2018), PyTorch"),
}
SEQUENTIAL_MODELS: dict[str, tuple[type[RecBoleSequential], str]] = {
    "recbole-sasrec": (RecBoleSASRec, "RecBole's SASRec (Kang & McAuley 2018), PyTorch, next-item"),
    "recbole-gru4rec": (RecBoleGRU4Rec, "RecBole's GRU4Rec (Hidasi et al. 2016), PyTorch, next-item"),
}


@hookimpl
def bench_models() -> list[ModelSpec]:
    sequential = model_specs(SEQUENTIAL_MODELS, NEXT_ITEM)
    return model_specs(MODELS, RANKING) + (sequential if METRICS_SHARED else [])  # no next-item task to declare otherwise
