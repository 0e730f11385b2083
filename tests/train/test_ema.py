"""vmf.train.ema: the moving average of the weights behind ``vmf-train --ema``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vmf.train.ema import WeightAverage


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_the_average_follows_the_formula_with_its_ramp():
    net = small_net()
    ema = WeightAverage(net, decay=0.5)
    start = {k: v.clone() for k, v in net.state_dict().items()}
    expected = {k: v.clone().float() for k, v in start.items() if v.is_floating_point()}
    for step in range(4):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(1.0)
            net[1].running_mean.add_(2.0)
            net[1].num_batches_tracked.add_(1)
        d = min(0.5, (1 + step) / (10 + step))  # the ramp: 0.1, 0.18, 0.25, 0.31
        for k in expected:
            expected[k] = d * expected[k] + (1 - d) * net.state_dict()[k]
        ema.update(net)
    got = ema.model.state_dict()
    for k, v in expected.items():
        assert torch.allclose(got[k], v), k
    assert int(got["1.num_batches_tracked"]) == 4  # integer buffers are copied, not averaged
    assert ema.updates == 4 and ema.state() == {"updates": 4, "decay": 0.5}
    # the average is a copy: the training net is untouched, and its weights moved on without it
    assert not torch.equal(got["0.weight"], net.state_dict()["0.weight"])
    assert all(not p.requires_grad for p in ema.model.parameters())


def test_load_restores_weights_and_the_ramp():
    net = small_net()
    ema = WeightAverage(net, decay=0.99)
    for _ in range(3):
        ema.update(net)
    other = WeightAverage(small_net(), decay=0.99)
    other.load(ema.model.state_dict(), ema.state())
    assert other.updates == 3 and other.current_decay() == ema.current_decay()
    for k, v in ema.model.state_dict().items():
        assert torch.equal(other.model.state_dict()[k], v)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5])
def test_a_decay_outside_0_1_is_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(small_net(), decay)
