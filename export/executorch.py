"""ExecuTorch target: ``torch.export`` -> delegate partitioner -> ``.pte``, with a delegation lint.

- ``xnnpack`` (default): the deployable form in its ExecuTorch spelling
  (deployable/xnnpack_spelling.py), lowered with ``XnnpackPartitioner``; fp32, or int8 through
  pt2e (``XNNPACKQuantizer``, symmetric per-channel weights, calibrated on the
  same clips as the other int8 paths). Ops XNNPACK has no int8 kernel for
  (the attention's ``bmm`` and ``softmax``) are left float by the quantizer.
- ``coreml``: the TCHW deployable form lowered with ``CoreMLPartitioner``
  (fp16 compute, iOS 16 minimum). It lowers anywhere coremltools installs
  but runs only where ExecuTorch has its Core ML backend (Apple platforms).

The delegation lint reads the lowered edge program: ops inside delegate
partitions, ops left to ExecuTorch's portable kernels (each one a border
where the delegate hands a tensor back, one op at a time), and the number of
partitions. A portable compute op fails the export unless allowed: that is
what made a straight lowering of the ONNX spelling 1.35-1.47x slower than
LiteRT (docs/executorch.md).
"""

from __future__ import annotations

import collections
import operator
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from vmf.contract.targets import did_you_mean
from vmf.contract.targets import get as get_target
from vmf.model import MissingDependencyError, VmfError

from .quiet import quiet as _quiet

if TYPE_CHECKING:
    from vmf.contract.targets import Job

    from .session import ExportSession
    from .steps import Artifact

# The delegates and the precisions each takes are the target's record (vmf.contract.targets).
BACKEND_IDS = {"xnnpack": "XnnpackBackend", "coreml": "CoreMLBackend"}
COREML_MIN_TARGET = "iOS16"
# Free on the portable kernels: views and aliases of memory-planned buffers, and the
# unpacking of a delegate's outputs. Anything else left outside a delegate is compute.
NON_COMPUTE = ("getitem", "alias_copy", "view_copy", "squeeze_copy", "unsqueeze_copy")


def require_executorch():
    """The ``executorch`` package, or one error naming the extra to install."""
    missing = False
    # torchao (imported by executorch) prints that its CUDA kernels are absent on a CPU
    # build; that goes to the export's conversion log, not the console.
    with _quiet():
        try:
            import executorch  # noqa: F401
            import executorch.exir  # noqa: F401
        except ImportError:
            missing = True
    if missing:
        raise MissingDependencyError(
            "--target executorch needs executorch, which is not installed: pip install 'vmf[executorch]'"
        )
    import executorch

    return executorch


def check_delegate(delegate: str) -> str:
    delegates = get_target("executorch").converters
    if delegate not in delegates:
        raise did_you_mean(delegate, delegates, "delegate")
    return delegate


@dataclass
class DelegationReport:
    """What the partitioner delegated and what it left to the portable kernels."""

    delegate: str
    partitions: int
    delegated: dict[str, int]
    portable: dict[str, int]
    max_rank: int
    allow_portable: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def portable_compute(self) -> dict[str, int]:
        return {op: n for op, n in self.portable.items() if op not in NON_COMPUTE}

    @property
    def passed(self) -> bool:
        return not self.problems and (self.allow_portable or not self.portable_compute)

    def to_dict(self) -> dict:
        delegated, portable = sum(self.delegated.values()), sum(self.portable_compute.values())
        return {
            "passed": self.passed,
            "delegate": self.delegate,
            "partitions": self.partitions,
            "ops": delegated + portable,
            "delegated_ops": delegated,
            "portable_ops": portable,
            "delegated_op_counts": dict(sorted(self.delegated.items())),
            "portable_op_counts": dict(sorted(self.portable_compute.items())),
            "max_rank": self.max_rank,
            "allow_portable": self.allow_portable,
            "problems": list(self.problems),
        }

    def summary(self) -> str:
        portable = self.portable_compute
        where = (
            ", ".join(f"{op} x{n}" for op, n in sorted(portable.items(), key=lambda kv: -kv[1]))
            if portable
            else "none"
        )
        return (
            f"{sum(self.delegated.values())} ops in {self.partitions} {self.delegate} "
            f"partition(s), {sum(portable.values())} portable compute ops ({where})"
        )


def _op_name(target) -> str:
    if target is operator.getitem:
        return "getitem"
    parts = getattr(target, "__name__", str(target)).split(".")
    return parts[-2] if len(parts) >= 3 else parts[0]  # aten.mm.default -> mm


def _rank(node) -> int:
    val = node.meta.get("val")
    values = val if isinstance(val, (tuple, list)) else (val,)
    return max((v.dim() for v in values if isinstance(v, torch.Tensor)), default=0)


def delegation_report(edge, delegate: str, allow_portable: bool = False) -> DelegationReport:
    """Count delegated and portable ops in a lowered ``EdgeProgramManager``."""
    program = edge.exported_program()
    module = program.graph_module
    delegated: collections.Counter = collections.Counter()
    portable: collections.Counter = collections.Counter()
    partitions, max_rank = 0, 0
    for node in module.graph.nodes:
        if node.op != "call_function":
            continue
        if node.target is torch.ops.higher_order.executorch_call_delegate:
            partitions += 1
            lowered = getattr(module, node.args[0].target)
            for inner in lowered.original_module.graph.nodes:
                if inner.op == "call_function" and inner.target is not operator.getitem:
                    delegated[_op_name(inner.target)] += 1
                    max_rank = max(max_rank, _rank(inner))
            continue
        portable[_op_name(node.target)] += 1
        max_rank = max(max_rank, _rank(node))
    report = DelegationReport(delegate, partitions, dict(delegated), dict(portable), max_rank, allow_portable)
    if not partitions:
        report.problems.append(f"nothing was delegated to {delegate}")
    return report


def check_delegation(report: DelegationReport) -> None:
    """Fail on portable compute ops unless allowed, naming them."""
    if report.problems:
        raise VmfError(f"delegation lint failed: {'; '.join(report.problems)}")
    portable = report.portable_compute
    if portable and not report.allow_portable:
        ops = ", ".join(f"{op} x{n}" for op, n in sorted(portable.items(), key=lambda kv: -kv[1]))
        raise VmfError(
            f"delegation lint failed: {sum(portable.values())} compute op(s) left on "
            f"ExecuTorch's portable kernels ({ops}); nothing was written "
            "(--allow-portable keeps it)"
        )


def _partitioner(delegate: str, precision: str):
    if delegate == "xnnpack":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        return XnnpackPartitioner()
    try:
        import coremltools as ct
        from executorch.backends.apple.coreml.compiler import CoreMLBackend
        from executorch.backends.apple.coreml.partition import CoreMLPartitioner
    except ImportError as exc:
        raise MissingDependencyError(
            f"--delegate coreml needs coremltools ({exc.name} is missing): pip install 'vmf[coreml]'"
        ) from None
    specs = CoreMLBackend.generate_compile_specs(
        compute_precision=ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32,
        minimum_deployment_target=getattr(ct.target, COREML_MIN_TARGET),
    )
    return CoreMLPartitioner(compile_specs=specs)


def quantize_pt2e(module: nn.Module, example: torch.Tensor, calibration: np.ndarray) -> nn.Module:
    """int8 (symmetric, per-channel weights, static activations) by pt2e, calibrated on TCHW clips."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    graph = torch.export.export(module.eval(), (example,), strict=False).module()
    prepared = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        for clip in calibration:
            prepared(torch.from_numpy(np.ascontiguousarray(clip)))
    return convert_pt2e(prepared)


def lower(
    module: nn.Module,
    example: torch.Tensor,
    path: "str | os.PathLike",
    *,
    delegate: str | None = None,
    precision: str = "fp32",
    calibration: np.ndarray | None = None,
    allow_portable: bool = False,
) -> DelegationReport:
    """Export ``module`` on ``example``, lower to ``delegate``, lint, and write the ``.pte``.

    The lint runs before anything is written: a lint failure raises
    ``VmfError`` and ``path`` is never created.
    """
    require_executorch()
    delegate = check_delegate(delegate or get_target("executorch").default_converter)
    from executorch.exir import to_edge_transform_and_lower

    module = module.eval()
    try:
        with torch.no_grad(), _quiet():
            if precision == "int8":
                if calibration is None:
                    raise VmfError("int8 needs calibration clips")
                module = quantize_pt2e(module, example, calibration)
            program = torch.export.export(module, (example,), strict=False)
            edge = to_edge_transform_and_lower(program, partitioner=[_partitioner(delegate, precision)])
    except VmfError:
        raise
    except Exception as exc:  # torch.export / lowering errors are long; keep the first line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise VmfError(f"ExecuTorch could not lower the model to {delegate} ({first})") from None
    report = delegation_report(edge, delegate, allow_portable)
    check_delegation(report)
    try:
        with _quiet():
            buffer = edge.to_executorch().buffer
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise VmfError(f"ExecuTorch could not serialise the program ({first})") from None
    Path(path).write_bytes(buffer)
    return report


def backends_needed(path: "str | os.PathLike") -> list[str]:
    """The delegate backend ids a ``.pte`` calls (``XnnpackBackend``, ``CoreMLBackend``)."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    pte = deserialize_pte_binary(Path(path).read_bytes())
    program = getattr(pte, "program", pte)
    return sorted({d.id for plan in program.execution_plan for d in plan.delegates})


def backends_available() -> list[str]:
    """The delegate backends this ExecuTorch runtime was built with."""
    from executorch.extension.pybindings import portable_lib

    return sorted(portable_lib._get_registered_backend_names())


def missing_backends(path: "str | os.PathLike") -> list[str]:
    available = set(backends_available())
    return [b for b in backends_needed(path) if b not in available]


def load_method(path: "str | os.PathLike", threads: int | None = None):
    """``(method, runtime)`` of a ``.pte``'s ``forward``; threads are set before loading.

    XNNPACK takes its thread count from ExecuTorch's shared pool when the
    method is loaded (its workspace is sized then), so the pool is reset first.
    """
    require_executorch()
    from executorch.extension.pybindings import portable_lib
    from executorch.runtime import Runtime

    if threads is not None:
        with _quiet():
            portable_lib._unsafe_reset_threadpool(int(threads))
    runtime = Runtime.get()
    with _quiet():
        program = runtime.load_program(Path(path))
        return program.load_method("forward"), runtime


def pte_predictor(path: "str | os.PathLike", threads: int | None = None):
    """TCHW clip (numpy) -> logits ``(1, classes)``, through the ExecuTorch runtime."""
    missing = missing_backends(path)
    if missing:
        raise VmfError(
            f"{Path(path).name} needs the {', '.join(missing)} backend, which this "
            f"ExecuTorch runtime lacks (it has {', '.join(backends_available())})"
        )
    method, _ = load_method(path, threads)

    def predict(clip: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32))
        return method.execute([tensor])[0].numpy().reshape(1, -1)

    return predict


def check_coreml_program(path: "str | os.PathLike", input_shape: list[int], num_classes: int) -> dict:
    """What can be checked of a Core ML ``.pte`` without a Mac; raises ``VmfError`` on a mismatch.

    The program must take one ``input_shape`` float tensor, give ``[1,
    num_classes]`` logits, and call the Core ML backend and nothing else.
    """
    from executorch.exir._serialize._program import deserialize_pte_binary

    pte = deserialize_pte_binary(Path(path).read_bytes())
    program = getattr(pte, "program", pte)
    plan = program.execution_plan[0]
    values = plan.values
    tensors = [values[i].val for i in plan.inputs], [values[i].val for i in plan.outputs]
    (ins, outs) = ([list(t.sizes) for t in group] for group in tensors)
    ids = sorted({d.id for d in plan.delegates})
    problems = []
    if ins != [list(input_shape)]:
        problems.append(f"inputs {ins}, expected [{list(input_shape)}]")
    if outs != [[1, num_classes]]:
        problems.append(f"outputs {outs}, expected [[1, {num_classes}]]")
    if ids != [BACKEND_IDS["coreml"]]:
        problems.append(f"delegates {ids}, expected only {BACKEND_IDS['coreml']}")
    if problems:
        raise VmfError(f"the Core ML .pte does not match its model: {'; '.join(problems)}")
    return {"inputs": ins, "outputs": outs, "backends": ids, "delegate_calls": len(plan.delegates)}


# -- the step vmf-export runs for --target executorch (registry: Target.writer) ----------------
def export_executorch(s: "ExportSession", job: "Job") -> list["Artifact"]:
    """Lower per precision to ``job.converter`` (the delegate); lint the delegation, gate parity."""
    require_executorch()
    delegate = job.converter
    layout = get_target(job.target).layout
    # XNNPACK takes the form spelled for it (deployable/xnnpack_spelling.py); Core ML takes the TCHW form
    # Core ML exports use.
    spelling = "xnnpack" if delegate == "xnnpack" else "default"

    def build(tmp: Path, precision: str) -> dict:
        calibration = s.calibration().calib if precision == "int8" else None
        start = time.perf_counter()
        report = lower(
            s.module(layout, spelling),
            s.example(layout),
            tmp,
            delegate=delegate,
            precision=precision,
            calibration=calibration,
            allow_portable=s.options.allow_portable,
        )
        s.log(f"executorch {precision}: lowered in {time.perf_counter() - start:.1f} s; {report.summary()}")
        lint = report.to_dict()
        if delegate == "coreml":
            lint["coreml"] = check_coreml_program(tmp, s.facts.input_shape, s.facts.num_classes)
            lint["coreml"]["minimum_deployment_target"] = COREML_MIN_TARGET
            parity = {
                "checked": False,
                "reason": "the Core ML delegate runs on Apple "
                "platforms only; the lowered program (one Core ML partition, its "
                "input/output shapes) was checked",
            }
        else:
            parity = s.parity(pte_predictor(tmp), job.target, precision, tmp.name)
        return s.metadata(
            job.target,
            precision,
            converter=f"executorch+{delegate}",
            input_name="clip",
            parity=parity,
            lint=lint,
        )

    return s.per_precision(job, build)
