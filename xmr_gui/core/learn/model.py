"""L2-GCN's trainable part, on top of frozen backbone features (torch + torch_geometric; training only)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..base import paths
from ..base.errors import XmrError
from .losses import REGISTRY, Forward

CONFIGS = paths.PACKAGE / "configs"


class ConfigError(XmrError):
    """A training config that cannot be used (unknown name, key or loss, invalid JSON)."""


# A field's annotation → the types its value may have, and how to say so.
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "int": ((int,), "a whole number"),
    "float": ((int, float), "a number"),
    "bool": ((bool,), "true or false"),
    "str": ((str,), "a string"),
}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_types(cfg: TrainConfig) -> None:
    for f in fields(cfg):
        value, kind = getattr(cfg, f.name), _KINDS.get(str(f.type))
        if kind is not None and (not isinstance(value, kind[0]) or (isinstance(value, bool) and bool not in kind[0])):
            raise ConfigError(f"{f.name} must be {kind[1]} (not {value!r})")
    losses = cfg.losses
    if not isinstance(losses, dict) or not all(
        isinstance(params, dict) and all(_is_number(v) for v in params.values()) for params in losses.values()
    ):
        example = '{"multilabel": {"weight": 0.5}}'
        raise ConfigError(f"losses maps each loss to its numeric parameters, as {example} (not {losses!r})")


@dataclass
class TrainConfig:
    """Architecture, losses and optimisation; loaded from a JSON file in xmr_gui/configs/ by name."""

    name: str = "l2gcn"
    losses: dict[str, dict[str, float]] = field(default_factory=lambda: {"circle_soft": {"weight": 1.0}})
    dim: int = 128  # shared space
    hidden: int = 512  # projection-head hidden width
    gcn_hidden: int = 256
    use_gcn: bool = True  # False: label classifiers are free parameters (the "heads only" ablation)
    tau: float = 0.4
    p: float = 0.2
    dropout: float = 0.1
    grl: float = 0.1  # gradient-reversal strength for the modality discriminator
    epochs: int = 60
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 10  # epochs without a better validation score before stopping
    select_labels: float = 0.5  # share of the validation score from the classifiers' label-query mAP (train.py)
    # CLIP-Adapter's residual ratio r: > 0 makes each head r · adapter(x) + (1 − r) · x in the backbone's own space
    # (`dim` is then the backbone's), the adapter's output layer starting at zero so training starts at the
    # backbone; the ratio served is chosen on validation (`train.choose_residual`). 0: plain projection heads.
    residual: float = 0.0
    # ML-GCN's start: each label's classifier is its prompt's text vector through the text head plus what the GCN
    # (or, without it, a free offset) adds, that part starting at zero so training starts at zero-shot.
    text_classifiers: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        _check_types(self)  # a value of the wrong type (`--set epochs=many`) fails here, not deep in training
        unknown = set(self.losses) - set(REGISTRY)
        if unknown:
            raise ConfigError(f"unknown loss {sorted(unknown)[0]!r}; known: {', '.join(REGISTRY)}")
        if not 0.0 <= float(self.select_labels) <= 1.0:
            raise ConfigError(f"select_labels is a share of the validation score, 0 to 1 (not {self.select_labels})")
        if not 0.0 <= float(self.residual) < 1.0:
            raise ConfigError(f"residual is CLIP-Adapter's ratio, 0 (off) to below 1 (not {self.residual})")

    @classmethod
    def load(cls, name_or_path: str) -> TrainConfig:
        path = Path(name_or_path)
        if not path.suffix:
            path = CONFIGS / f"{name_or_path}.json"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in CONFIGS.glob("*.json")))
            raise ConfigError(f"no training config {name_or_path!r} (shipped: {known})")
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise ConfigError(f"config {path} is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config {path} is not a JSON object of hyper-parameters")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"config {path} has unknown keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, strength: float) -> torch.Tensor:
        ctx.strength = strength
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.strength * grad, None


def grad_reverse(x: torch.Tensor, strength: float) -> torch.Tensor:
    return _ReverseGrad.apply(x, strength)  # type: ignore[no-any-return]


def head(d_in: int, hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, d_out))


class ResidualHead(nn.Module):
    """CLIP-Adapter (Gao et al. 2021): ratio · adapter(x) + (1 − ratio) · x, the adapter a two-layer MLP whose
    output layer starts at zero, so before training the head is the identity (after unit normalisation, the
    backbone's own vectors). `ratio` may be changed after training (`train.choose_residual`): it moves the served head
    between the backbone (0) and more of the trained adapter, as CLIP-Adapter chooses its ratio on validation."""

    def __init__(self, d: int, hidden: int, dropout: float, ratio: float) -> None:
        super().__init__()
        self.adapter = head(d, hidden, d, dropout)
        last = cast(nn.Linear, self.adapter[-1])
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.ratio = float(ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.ratio * self.adapter(x) + (1.0 - self.ratio) * x)


def projection(d_in: int, cfg: TrainConfig) -> nn.Module:
    """One modality's head: plain (backbone → `cfg.dim`) or residual on the backbone space (`cfg.residual`)."""
    if cfg.residual > 0:
        return ResidualHead(d_in, cfg.hidden, cfg.dropout, cfg.residual)
    return head(d_in, cfg.hidden, cfg.dim, cfg.dropout)


class LabelGCN(nn.Module):
    """Two GCN layers over the label graph: H¹ = LeakyReLU(Â H⁰ W⁰), H² = Â H¹ W¹."""

    def __init__(self, d_in: int, hidden: int, d_out: int) -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv

        self.conv1 = GCNConv(d_in, hidden, add_self_loops=False, normalize=True)
        self.conv2 = GCNConv(hidden, d_out, add_self_loops=False, normalize=True)

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = F.leaky_relu(self.conv1(x, edge_index, edge_weight), 0.2)
        return cast(torch.Tensor, self.conv2(h, edge_index, edge_weight))  # torch_geometric is untyped

    def last_layer_parts(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(messages M = H¹W¹ (C, d), bias b): the output is Â M + b, so label i's score for z splits into
        Σ_j Â_ij (z · M_j) — how much each neighbour j lifted label i."""
        h = F.leaky_relu(self.conv1(x, edge_index, edge_weight), 0.2)
        return self.conv2.lin(h), self.conv2.bias


class SharedSpaceModel(nn.Module):
    # buffers (register_buffer below), declared for the type checker
    label_inputs: torch.Tensor
    edge_index: torch.Tensor
    edge_weight: torch.Tensor

    def __init__(
        self,
        cfg: TrainConfig,
        d_img: int,
        d_txt: int,
        label_inputs: np.ndarray,
        edge_index: np.ndarray,
        edge_weight: np.ndarray,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.residual > 0 and not d_img == d_txt == label_inputs.shape[1]:
            raise ConfigError(
                "residual heads need a backbone whose images and texts share one space (this one does not: "
                "train with --config ussl)"
            )
        self.dim = d_img if cfg.residual > 0 else cfg.dim  # the learned space's
        self.img_head = projection(d_img, cfg)
        self.txt_head = projection(d_txt, cfg)
        self.register_buffer("label_inputs", torch.as_tensor(label_inputs, dtype=torch.float32))
        self.register_buffer("edge_index", torch.as_tensor(edge_index, dtype=torch.long))
        self.register_buffer("edge_weight", torch.as_tensor(edge_weight, dtype=torch.float32))
        n_labels = label_inputs.shape[0]
        if cfg.use_gcn:
            self.gcn: LabelGCN | None = LabelGCN(label_inputs.shape[1], cfg.gcn_hidden, self.dim)
            if cfg.text_classifiers:  # the graph's part starts at zero: the classifiers start at zero-shot
                nn.init.zeros_(self.gcn.conv2.lin.weight)
                nn.init.zeros_(self.gcn.conv2.bias)
        else:
            self.gcn = None
            start = torch.zeros if cfg.text_classifiers else lambda *s: torch.randn(*s) * 0.1
            self.free_classifiers = nn.Parameter(start(n_labels, self.dim))
        self.discriminator = nn.Sequential(nn.Linear(self.dim, 64), nn.ReLU(), nn.Linear(64, 1))

    def label_text(self) -> torch.Tensor:
        """The labels' prompt vectors through the text head, unit length: the zero-shot classifiers in this space."""
        return F.normalize(self.txt_head(self.label_inputs), dim=-1)

    def classifiers(self) -> torch.Tensor:
        learned = (
            self.free_classifiers
            if self.gcn is None
            else cast(torch.Tensor, self.gcn(self.label_inputs, self.edge_index, self.edge_weight))
        )
        return self.label_text() + learned if self.cfg.text_classifiers else learned

    def forward(
        self, img_feats: torch.Tensor, txt_feats: torch.Tensor, labels: torch.Tensor, pseudo: torch.Tensor | None = None
    ) -> Forward:
        img = F.normalize(self.img_head(img_feats), dim=-1)
        txt = F.normalize(self.txt_head(txt_feats), dim=-1)
        classifiers = self.classifiers()
        modality = self.discriminator(grad_reverse(torch.cat([img, txt]), self.cfg.grl)).squeeze(-1)
        # USSL's multi-label node: joined to its labels in the label–multi-label graph, it aggregates them.
        weights = labels / labels.sum(1, keepdim=True).clamp_min(1)
        set_nodes = weights @ classifiers
        return Forward(
            img=img,
            txt=txt,
            labels=labels,
            classifiers=classifiers,
            modality_logits=modality,
            set_nodes=set_nodes,
            pseudo=pseudo,
        )

    def head_arrays(self, which: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """A head's linear layers (a residual head's adapter: its ratio is `residual_ratio`)."""
        seq = self.img_head if which == "img" else self.txt_head
        return [
            (m.weight.detach().cpu().numpy(), m.bias.detach().cpu().numpy())
            for m in seq.modules()
            if isinstance(m, nn.Linear)
        ]

    @property
    def residual_ratio(self) -> float:
        """The ratio the residual heads serve (0: plain heads)."""
        return float(self.img_head.ratio) if isinstance(self.img_head, ResidualHead) else 0.0

    def set_residual_ratio(self, ratio: float) -> None:
        for h in (self.img_head, self.txt_head):
            cast(ResidualHead, h).ratio = float(ratio)
