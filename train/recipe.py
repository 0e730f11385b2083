"""The training recipe of ``vmf-train``: its configuration, optimizer, schedule and network.

X3D-XS / MoViNet-A0 style (docs/training.md): AdamW or SGD with Nesterov
momentum, linear warm-up then a cosine decay per step, weight decay off for
norms, biases and the global tokens; the network is a VMF or Mobile3D variant,
optionally started from another checkpoint's weights (fine-tuning) with its
backbone frozen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from vmf.model import VmfError, build_model, get_variant
from vmf.model.checkpoint import read_checkpoint


@dataclass
class TrainConfig:
    data: str
    variant: str = "560M"
    baseline: bool = False
    activation: str = "dyrelu"
    stem_kernel: int | None = None  # architecture ablations: the stem's temporal kernel
    stem_padding: int | None = None  # ... and its padding (default: the variant's)
    init: str | None = None
    freeze_backbone: bool = False
    frames: int = 64
    resolution: int | None = None  # default: the variant's
    epochs: int = 30
    batch: int = 8
    lr: float | None = None  # default per optimizer
    optimizer: str = "adamw"
    weight_decay: float | None = None
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    clip_grad: float = 5.0
    device: str = "auto"
    amp: bool = False
    workers: int = 1
    patience: int = 0  # 0: never stop early
    out: str = "runs/train"
    seed: int = 0
    val: str | None = None
    val_split: float | None = None
    flip_map: str | None = None
    epoch_size: int = 2000  # in-memory synthetic data: clips an epoch
    val_size: int = 500
    threads: int | None = None
    sample_fps: float | None = None
    clip_sampling: str = "video"  # "video" (whole videos, paper §4) or "stream" (vmf.contract.sampling)
    video_share: float = 0.0  # stream sampling of 'synth': this share of training clips are whole videos
    ema: float = 0.0  # decay of the weights' moving average (vmf.train.ema); 0: off

    def resolved(self) -> "TrainConfig":
        cfg = get_variant(self.variant)
        lr = self.lr if self.lr is not None else (2e-3 if self.optimizer == "adamw" else 0.1)
        wd = (
            self.weight_decay
            if self.weight_decay is not None
            else (0.05 if self.optimizer == "adamw" else 5e-5)
        )
        return replace(self, resolution=self.resolution or cfg.resolution, lr=lr, weight_decay=wd)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on conv/linear weights only: never on norms, biases or the tokens."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name == "tokens" else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.999))
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    raise VmfError(f"--optimizer must be adamw or sgd, got {cfg.optimizer!r}")


def lr_lambda(total_steps: int, warmup_steps: int):
    """Linear warm-up from 1 % to the peak, then cosine to 0 at the last step."""

    def f(step: int) -> float:
        if step < warmup_steps:
            return 0.01 + 0.99 * step / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return f


def build_network(cfg: TrainConfig, num_classes: int, log) -> nn.Module:
    variant = replace(
        get_variant(cfg.variant), frames=cfg.frames, resolution=cfg.resolution, activation=cfg.activation
    )
    if cfg.stem_kernel is not None:
        variant = replace(
            variant, stem_temporal_kernel=cfg.stem_kernel, stem_temporal_padding=cfg.stem_padding
        )
    model = build_model(variant, baseline=cfg.baseline, num_classes=num_classes)
    if cfg.init:
        load_init(model, cfg.init, log)
    if cfg.freeze_backbone:
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith("head.")
    return model


def load_init(model: nn.Module, path: str, log) -> None:
    """Fine-tuning start: load every tensor whose name and shape fit; report the rest."""
    state = read_checkpoint(path)["state_dict"]  # CheckpointError for a bad file
    own = model.state_dict()
    fits = {k: v for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    shape_mismatch = [k for k in state if k in own and k not in fits]
    unexpected = [k for k in state if k not in own]
    missing = [k for k in own if k not in state]
    if len(fits) < 0.5 * len(own):
        raise VmfError(
            f"--init {path}: only {len(fits)} of {len(own)} tensors fit "
            f"{'Mobile3D' if model.baseline else 'VMF'}-{model.cfg.name}: is it another "
            "variant's weights?"
        )
    head_only = all(k.startswith("head.classifier") for k in shape_mismatch + missing)
    if not head_only:
        raise VmfError(
            f"--init {path}: {len(shape_mismatch) + len(missing)} backbone tensors do "
            f"not fit (e.g. {(shape_mismatch + missing)[0]!r}): is it another variant's weights?"
        )
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in fits.items()}, strict=False)
    skipped = shape_mismatch + missing
    log(
        f"--init: loaded {len(fits)} tensors from {path}"
        + (f"; re-initialised {', '.join(skipped)} (another class count)" if skipped else "")
        + (f"; ignored {len(unexpected)} unexpected" if unexpected else "")
    )
