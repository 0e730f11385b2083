"""Frame-level dynamic ReLU (paper §3 "Extension of CNN", Table 11).

Mobile-Former's DY-ReLU takes its coefficients from the first global token, so
every frame of a clip gets the same activation. Video Mobile-Former makes them
per frame: the average-pooled feature of each frame is concatenated with the
first token and passed through two MLP layers (input T' x 1 x 1 x (C + d)).
The rest follows the official Mobile-Former ``DyReLU``/``HyperFunc``: two
slopes per channel, no intercepts, h_sigmoid, reduction 4.
"""

from __future__ import annotations

import torch
from torch import nn


class FrameDyReLU(nn.Module):
    """y[c, t] = max(a1[c, t] * x[c, t], a2[c, t] * x[c, t]), shared over H x W."""

    def __init__(self, channels: int, token_dim: int, reduction: int = 4):
        super().__init__()
        squeeze = round((channels + token_dim) / reduction)
        self.channels = channels
        # Two MLP layers on [frame GAP || z0] (Table 11, "FL-DyReLU").
        self.fc1 = nn.Linear(channels + token_dim, squeeze)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(squeeze, 2 * channels)
        self.gate = nn.Hardsigmoid()

    def coefficients(self, x: torch.Tensor, z0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-frame slopes (a1, a2), each (B, C, T, 1, 1), for x (B, C, T, H, W), z0 (B, d)."""
        b, c, t = x.shape[:3]
        pooled = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, T, C): one vector per frame
        u = torch.cat([pooled, z0[:, None, :].expand(b, t, z0.shape[-1])], dim=-1)
        h = self.gate(self.fc2(self.act(self.fc1(u))))  # (B, T, 2C) in [0, 1]
        h = h.transpose(1, 2).reshape(b, 2, c, t, 1, 1)
        a1 = 2.0 * h[:, 0]  # 1 + 2(h - 1/2), in [0, 2]: starts as the identity slope
        a2 = 2.0 * h[:, 1] - 1.0  # 2(h - 1/2), in [-1, 1]: starts at 0, i.e. a ReLU
        return a1, a2

    def forward(self, x: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
        a1, a2 = self.coefficients(x, z0)
        return torch.maximum(x * a1, x * a2)


class PlainReLU(nn.Module):
    """The Mobile3D baseline's activation: same call signature, ignores the token."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, z0: torch.Tensor | None) -> torch.Tensor:
        return self.act(x)
