"""Shared helpers for the export tests: non-trivial weights and the one equivalence check.

Default initialisation hides folding bugs: BatchNorm starts as the identity
and the Linear layers at std 0.01 make logits ~0.1, so a wrong fold can
stay under 1e-4. The ``randomize`` fixture hands out a function that gives
every BN random statistics and affine values, every Linear and LayerNorm
O(1) weights and the tokens fresh values, so logits are O(1) and the 1e-4
bound is a real test.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

EQUIVALENCE_ATOL = 1e-4  # fp32 max abs difference allowed between reference and deployable form


def _randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Give ``module`` random, non-identity weights and BN statistics, in place; returns it."""
    g = torch.Generator().manual_seed(seed)

    def uniform(shape, low, high):
        return torch.rand(shape, generator=g) * (high - low) + low

    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(uniform(n, 0.5, 1.5))
                m.weight.copy_(uniform(n, 0.5, 1.5))
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / math.sqrt(m.in_features))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.LayerNorm):
                m.weight.copy_(uniform(m.weight.shape, 0.5, 1.5))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        tokens = getattr(module, "tokens", None)
        if isinstance(tokens, torch.Tensor):
            tokens.copy_(torch.randn(tokens.shape, generator=g))
    return module.eval()


def _fold_time(x: torch.Tensor) -> torch.Tensor:
    """Reference features ``(1, C, T, H, W)`` -> deployable layout ``[T, C, H, W]``."""
    return x[0].transpose(0, 1)


def _assert_equivalent(reference: torch.Tensor, deployable: torch.Tensor, what: str = "") -> None:
    """The one equivalence check of every rewrite: same shape, max abs difference <= 1e-4."""
    assert torch.isfinite(reference).all(), f"{what}: reference output is not finite"
    torch.testing.assert_close(
        deployable,
        reference,
        atol=EQUIVALENCE_ATOL,
        rtol=0,
        msg=lambda m: f"{what}: deployable form differs from the reference\n{m}",
    )


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


# The helpers are handed out as fixtures: the test folders have no packages to import from.
@pytest.fixture
def randomize():
    return _randomize


@pytest.fixture
def fold_time():
    return _fold_time


@pytest.fixture
def assert_equivalent():
    return _assert_equivalent
