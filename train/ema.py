"""An exponential moving average of the weights (``vmf-train --ema DECAY``).

Small-batch training on synthetic clips is noisy: the validation top-1 of the
raw weights moves several points between neighbouring epochs. An average of
the weights over the last few hundred steps (as YOLO's and timm's trainers
keep) is steadier and usually better; with ``--ema`` it is what validation
scores and what ``best.pt``/``last.pt`` hold as their weights, so everything
downstream (``vmf-eval``, ``vmf-export``) uses it without knowing. The raw
weights a resumed run continues from travel in ``last.pt``'s training state.

The decay ramps up from 0.1 (``min(decay, (1 + n) / (10 + n))`` after ``n``
updates), so the average does not drag the random or ``--init`` start along
for thousands of steps. BatchNorm statistics are averaged like the weights;
integer buffers (the batch counters) are copied.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the EMA decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        self.updates += 1
        own = self.model.state_dict()
        for name, value in model.state_dict().items():
            target = own[name]
            if target.is_floating_point():
                target.mul_(d).add_(value.detach().to(target.dtype), alpha=1.0 - d)
            else:
                target.copy_(value)

    def state(self) -> dict:
        return {"updates": self.updates, "decay": self.decay}

    def load(self, weights: dict, state: dict) -> None:
        """Back to a saved average: its weights and how many updates it has seen."""
        self.model.load_state_dict(weights)
        self.updates = int(state["updates"])
