"""The two cross-attention bridges and the Former block (paper §3, eqs. 1, 3, 4).

Video Mobile-Former keeps M = 6 global tokens for the whole clip: the bridges
let every token attend over all T' x H x W positions (Mobile -> Former) and
every position attend over the tokens (Former -> Mobile). Projections sit on
the token side only, so the wide feature map is never projected (Mobile-Former
``remove_proj_local=True``).
"""

from __future__ import annotations

import torch
from torch import nn


class MobileToFormer(nn.Module):
    """Tokens read the feature map: z <- LN(z + W_o(gate(z) * Attn(W_q z, X, X))).

    The channel gate 2*h_sigmoid(W_g z) is Mobile-Former's ``gbr_dynamic[0]``;
    it is not in eq. 3 but is in the official code.
    """

    def __init__(self, channels: int, token_dim: int, heads: int = 2):
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels {channels} not divisible by {heads} heads")
        self.heads = heads
        self.scale = (channels // heads) ** -0.5
        self.to_query = nn.Linear(token_dim, channels)
        self.to_gate = nn.Linear(token_dim, channels)
        self.gate = nn.Hardsigmoid()
        self.to_token = nn.Linear(channels, token_dim)
        self.norm = nn.LayerNorm(token_dim)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        m, h = z.shape[1], self.heads
        keys = x.reshape(b, h, c // h, -1)  # (B, h, C/h, L): keys = values = X, no projection
        q = self.to_query(z).reshape(b, m, h, c // h).transpose(1, 2)  # (B, h, M, C/h)
        attn = torch.softmax((q @ keys) * self.scale, dim=-1)  # over all L = T'HW positions
        out = (attn @ keys.transpose(2, 3)).transpose(1, 2).reshape(b, m, c)
        out = out * (2.0 * self.gate(self.to_gate(z)))
        return self.norm(z + self.to_token(out))


class Former(nn.Module):
    """Transformer block on the M tokens only (eq. 1): MHSA then FFN, post-norm.

    Keys and values are the unprojected tokens, as in Mobile-Former's ``GlobalBlock``.
    Its cost does not depend on the clip: M*6d^2 + 2*M^2*d MACs.
    """

    def __init__(self, token_dim: int, heads: int = 4, ffn_expansion: int = 2):
        super().__init__()
        self.heads = heads
        self.scale = (token_dim // heads) ** -0.5
        self.to_query = nn.Linear(token_dim, token_dim)
        self.to_out = nn.Linear(token_dim, token_dim)
        self.norm_attn = nn.LayerNorm(token_dim)
        self.ffn = nn.Sequential(
            nn.Linear(token_dim, ffn_expansion * token_dim),
            nn.GELU(),
            nn.Linear(ffn_expansion * token_dim, token_dim),
        )
        self.norm_ffn = nn.LayerNorm(token_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b, m, d = z.shape
        h = self.heads
        q = self.to_query(z).reshape(b, m, h, d // h).transpose(1, 2)  # (B, h, M, d/h)
        kv = z.reshape(b, m, h, d // h).transpose(1, 2)
        attn = torch.softmax((q @ kv.transpose(2, 3)) * self.scale, dim=-1)
        out = (attn @ kv).transpose(1, 2).reshape(b, m, d)
        z = self.norm_attn(z + self.to_out(out))
        return self.norm_ffn(z + self.ffn(z))


class FormerToMobile(nn.Module):
    """The feature map reads the tokens: Y <- Y + Attn(Y, W_k z, W_v z) (eq. 4).

    Queries are the unprojected features; no output projection, no norm.
    """

    def __init__(self, channels: int, token_dim: int, heads: int = 2):
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels {channels} not divisible by {heads} heads")
        self.heads = heads
        self.scale = (channels // heads) ** -0.5
        self.to_key = nn.Linear(token_dim, channels)
        self.to_value = nn.Linear(token_dim, channels)

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        b, c = y.shape[:2]
        m, h = z.shape[1], self.heads
        q = y.reshape(b, h, c // h, -1).transpose(2, 3)  # (B, h, L, C/h)
        k = self.to_key(z).reshape(b, m, h, c // h).permute(0, 2, 3, 1)  # (B, h, C/h, M)
        v = self.to_value(z).reshape(b, m, h, c // h).transpose(1, 2)  # (B, h, M, C/h)
        attn = torch.softmax((q @ k) * self.scale, dim=-1)  # each position over the M tokens
        out = (attn @ v).transpose(2, 3).reshape(y.shape)
        return y + out
