"""The two protocols of the deployable form, and the context the walker hands a twin.

A *twin* is built from its reference block by one classmethod,
``from_reference(block, ctx)``, that returns a *new* module and never mutates
the block. The context knows the static input shape recorded
for every reference block, and converts children through the form's twin
table, so composite twins (a block holding bridges, a Mobile block holding
DY-ReLUs) need no import of the walker.

A *variant* of the form (the channels-last layout, a spelling for one
runtime) is a ``TwinTable`` of overrides, reference type -> twin, laid over
the default TCHW table (``forms.FORMS``). A variant twin subclasses its
block's default twin (or the block's template, where it keeps other weights)
and overrides named steps of the block's one ``forward``, not the forward.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, runtime_checkable

import torch
from torch import nn

from vmf.model import VmfError

Shape = tuple[int, ...]
TwinTable = Mapping[type, type]  # reference block type -> its twin (exact type match)


@runtime_checkable
class DeployableTwin(Protocol):
    """The deployable counterpart of one reference block type."""

    @classmethod
    def from_reference(cls, block: nn.Module, ctx: "DeployContext") -> nn.Module:
        """A new rank-4 module computing what ``block`` computes at the recorded shape."""
        ...


@dataclass(frozen=True)
class DeployContext:
    """Static shapes recorded once, the twin table of the form being built, and its clip layout."""

    input_shapes: Mapping[str, tuple[Shape, ...]]  # qualified name -> shapes of the tensor args
    names: Mapping[int, str]  # id(reference module) -> qualified name
    twins: TwinTable
    layout: str = "TCHW"  # the clip layout of the network's input

    def input_shape(self, block: nn.Module, arg: int = 0) -> Shape:
        """Shape of the ``arg``-th tensor argument ``block`` received in the recording pass."""
        name = self.names.get(id(block))
        if name is None or name not in self.input_shapes:
            raise VmfError(
                f"no input shape was recorded for {type(block).__name__}; "
                "it is not reached by the model's forward pass"
            )
        return self.input_shapes[name][arg]

    def convert(self, block: nn.Module) -> nn.Module:
        """The deployable twin of ``block`` through the table (exact type match)."""
        twin = self.twins.get(type(block))
        if twin is None:
            raise VmfError(f"no deployable form is known for {type(block).__name__}")
        return twin.from_reference(block, self)


def record_input_shapes(module: nn.Module, example: tuple) -> dict[str, tuple[Shape, ...]]:
    """Run ``module`` once on the meta device and record every submodule's input shapes.

    The hooks live on a throw-away meta copy, so neither the caller's module
    nor the twins built later ever carry a hook, and no real compute is done
    (PyTorchVideo's ``convert_to_deployable_form`` records shapes the same way,
    on the real module).
    """
    # Tensors go straight to meta through the deepcopy memo: no copy of the weights is made.
    memo: dict[int, torch.Tensor] = {}
    for t in (*module.parameters(), *module.buffers()):
        meta = torch.empty_like(t, device="meta")
        memo[id(t)] = nn.Parameter(meta, requires_grad=False) if isinstance(t, nn.Parameter) else meta
    probe = copy.deepcopy(module, memo).eval()
    shapes: dict[str, tuple[Shape, ...]] = {}

    def recorder(name: str) -> Callable:
        def hook(_module: nn.Module, args: tuple) -> None:
            shapes.setdefault(name, tuple(tuple(a.shape) for a in args if isinstance(a, torch.Tensor)))

        return hook

    handles = [m.register_forward_pre_hook(recorder(name)) for name, m in probe.named_modules()]
    try:
        with torch.no_grad():
            probe(*(a.to("meta") if isinstance(a, torch.Tensor) else a for a in example))
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def build_context(
    reference: nn.Module,
    example: tuple,
    twins: TwinTable,
    layout: str = "TCHW",
) -> DeployContext:
    """Record shapes of ``reference`` on ``example`` and index its modules by name."""
    names = {id(m): name for name, m in reference.named_modules()}
    return DeployContext(record_input_shapes(reference, example), names, twins, layout)
