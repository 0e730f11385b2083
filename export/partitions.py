"""How many pieces a phone accelerator cuts an artifact into, read with the runtimes' own tools.

A delegate or execution provider takes a graph one partition per run of ops
it supports; between partitions the tensors go back to the CPU, which on a
phone usually costs more than the accelerator saves. Counted here:

- ONNX (``.onnx``): ONNX Runtime's mobile usability checker
  (``python -m onnxruntime.tools.check_onnx_model_mobile_usability``, called
  in-process) for the Core ML MLProgram and NNAPI execution providers, on the
  graph after ONNX Runtime's basic optimizations, as the checker does;
- TFLite (``.tflite``): the XNNPACK partitions the LiteRT interpreter actually
  made (its DELEGATE nodes, read back after it applied the delegate), and the
  GPU delegate's from TensorFlow's compatibility analyzer where TensorFlow is
  installed (the per-op verdict; partitions are the runs of supported ops).

Every count names the first op left out and where it comes from in the
network (``block 3, former.ffn``), read from the node or tensor name the
exporter recorded. A target meant for phones has a ``partition_budget`` in
its record (``vmf.contract.targets``); ``check_budget`` turns an overrun into
one error line (docs/mobile-accelerators.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vmf.contract.targets import get as get_target
from vmf.model import VmfError

from .quiet import quiet

ORT_CHECKER = "onnxruntime.tools.check_onnx_model_mobile_usability"
# The checker's suitability, in the words of its report.
_VERDICTS = {
    "YES": "should work well",
    "MAYBE": "may work well, test performance",
    "NO": "not recommended: worse than the CPU EP",
}
_ORT_EPS = {
    "coreml_mlprogram": "Core ML MLProgram EP",
    "nnapi": "NNAPI EP",
    "xnnpack": "XNNPACK delegate",
    "gpu": "GPU delegate",
}


@dataclass
class PartitionCount:
    """One accelerator's view of one graph."""

    partitions: int
    nodes: int
    supported_nodes: int
    unsupported_ops: list[str] = field(default_factory=list)
    first_unsupported: dict | None = None  # {"op", "node", "where"}
    tool: str = ""
    verdict: str | None = None  # ONNX Runtime's checker: "should work well", ...

    @property
    def coverage(self) -> float:
        return self.supported_nodes / self.nodes if self.nodes else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["coverage"] = round(self.coverage, 4)
        return d


def where_in_network(name: str) -> str:
    """``/blocks.3/former/ffn/ffn.1/Gelu`` or a TFLite tensor's scope -> ``block 3, former.ffn.1``."""
    path = []
    for part in (p.split(";")[0] for p in name.split("/") if p):
        scope = _SCOPE.match(part)  # litert-torch: "vmf.export.deployable.network.DeployBlock_3"
        if scope:
            owner, attr = scope.group(1), scope.group(2) or ""
            if attr:
                path.append(f"blocks.{attr}" if owner.endswith("Block") and attr.isdigit() else attr)
        else:  # torch.onnx node names: "/blocks.3/former/ffn/ffn.1/Gelu"
            path.append(part)
    if path and path[-1][:1].isupper():  # the ONNX op itself
        path = path[:-1]
    if not path:
        return "the network's top level"
    head, rest = path[0], path[1:]
    if head.startswith("blocks.") and head[7:].isdigit():
        return f"block {head[7:]}" + (", " + ".".join(_dedupe(rest)) if rest else "")
    return ".".join(_dedupe(path))


_SCOPE = re.compile(r"^[a-z_][\w]*(?:\.[a-z_]\w*)*\.([A-Z][A-Za-z0-9]*)(?:_(\w+))?$")


def _dedupe(parts: list[str]) -> list[str]:
    """``ffn, ffn.1`` -> ``ffn.1``: torch names a Sequential child after its parent."""
    out: list[str] = []
    for part in parts:
        if out and part.startswith(out[-1] + "."):
            out[-1] = part
        else:
            out.append(part)
    return out


# -- ONNX Runtime Mobile (Core ML, NNAPI) -------------------------------------------------
def ort_partitions(onnx_path: "str | os.PathLike") -> dict[str, PartitionCount]:
    """Core ML MLProgram and NNAPI partition counts of ``onnx_path`` by ONNX Runtime's checker."""
    from onnxruntime.tools.mobile_helpers import usability_checker as checker
    from onnxruntime.tools.onnx_model_utils import optimize_model

    onnx_path = Path(onnx_path)
    counts = {}
    with tempfile.TemporaryDirectory(prefix="vmf-ort-check-") as tmp, _quiet_logging():
        optimized = Path(tmp) / onnx_path.name
        # The checker's default: basic optimizations first, as ONNX Runtime applies them at load.
        optimize_model(onnx_path, optimized, use_external_initializers=True)
        model = checker.ModelProtoWithShapeInfo(optimized).model_with_shape_info
        infos = {
            "coreml_mlprogram": checker.check_coreml_partitions(
                model, True, "coreml_supported_mlprogram_ops.md"
            ),
            "nnapi": checker.check_nnapi_partitions(model, True),
        }
        for name, info in infos.items():
            counts[name] = PartitionCount(
                info.num_partitions,
                info.num_nodes,
                info.num_supported_nodes,
                sorted(op.split(":")[-1] for op in info.unsupported_ops | info.ops_with_unsupported_rank),
                _first_onnx_outsider(model.graph, info.supported_groups),
                ORT_CHECKER,
                _VERDICTS[info.suitability().name],
            )
    return counts


def _first_onnx_outsider(graph, groups) -> dict | None:
    inside = {id(node) for group in groups for node in group}
    inside_names = {node.name for group in groups for node in group}
    for node in graph.node:
        if id(node) not in inside and node.name not in inside_names:
            return {"op": node.op_type, "node": node.name, "where": where_in_network(node.name)}
    return None


@contextlib.contextmanager
def _quiet_logging():
    """The checker logs through the root logger and prints ONNX shape warnings; keep them quiet."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with quiet():
            yield
    finally:
        root.setLevel(level)


# -- LiteRT (XNNPACK, GPU delegate) -------------------------------------------------------
def xnnpack_partitions(tflite_path: "str | os.PathLike") -> PartitionCount:
    """The XNNPACK partitions LiteRT made of ``tflite_path``: its DELEGATE nodes, read back."""
    from .litert import load_interpreter

    interpreter = load_interpreter(tflite_path, threads=1)  # applies XNNPACK, the default delegate
    nodes = interpreter._get_ops_details()  # every node: the model's ops, then one per partition
    delegates = [n for n in nodes if n["op_name"] == "DELEGATE"]
    ops = [n for n in nodes if n["op_name"] != "DELEGATE"]
    producer = {int(t): n["index"] for n in ops for t in n["outputs"]}
    by_index = {n["index"]: n for n in ops}
    inside: set[int] = set()
    for delegate in delegates:  # walk back from each partition's outputs to its inputs
        boundary = {int(t) for t in delegate["inputs"]}
        stack = [int(t) for t in delegate["outputs"]]
        while stack:
            tensor = stack.pop()
            if tensor in boundary or tensor not in producer:
                continue
            index = producer[tensor]
            if index not in inside:
                inside.add(index)
                stack += [int(t) for t in by_index[index]["inputs"] if t >= 0]
    outside = [n for n in ops if n["index"] not in inside]
    first = None
    if outside:
        names = _tensor_names(Path(tflite_path))
        name = names[int(outside[0]["outputs"][0])] if len(outside[0]["outputs"]) else ""
        first = {"op": outside[0]["op_name"], "node": name, "where": where_in_network(name)}
    return PartitionCount(
        len(delegates),
        len(ops),
        len(ops) - len(outside),
        sorted({n["op_name"] for n in outside}),
        first,
        "LiteRT interpreter (ai-edge-litert), DELEGATE nodes",
    )


def gpu_partitions(tflite_path: "str | os.PathLike") -> PartitionCount | None:
    """GPU delegate partitions from TensorFlow's analyzer (``litert.gpu_analysis``); None without TensorFlow."""
    from .litert import gpu_analysis

    text = gpu_analysis(tflite_path)
    if text is None:
        return None
    flagged: set[int] = set()
    current = None
    subgraph = 0
    for line in text.splitlines():
        if line.startswith("Subgraph#"):
            subgraph = int(re.match(r"Subgraph#(\d+)", line).group(1))
        match = re.match(r"\s*Op#(\d+)", line)
        if match:
            current = int(match.group(1)) if subgraph == 0 else None
        elif "GPU COMPATIBILITY WARNING" in line and current is not None:
            flagged.add(current)
    ops, edges, names, codes = _graph_edges(Path(tflite_path))
    supported = [i for i in range(ops) if i not in flagged]
    first = None
    if flagged:
        index = min(flagged)
        first = {"op": codes[index], "node": names[index], "where": where_in_network(names[index])}
    return PartitionCount(
        _runs(supported, edges),
        ops,
        len(supported),
        sorted({codes[i] for i in flagged}),
        first,
        "TensorFlow Lite analyzer (gpu_compatibility), runs of supported ops",
    )


def _runs(supported: list[int], edges: list[tuple[int, int]]) -> int:
    """Connected groups of supported ops (edges between two supported ops join them)."""
    parent = {i: i for i in supported}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    return len({find(i) for i in supported})


def _tensor_names(path: Path) -> list[str]:
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.Model.GetRootAs(path.read_bytes(), 0).Subgraphs(0)
    return [(graph.Tensors(i).Name() or b"").decode(errors="replace") for i in range(graph.TensorsLength())]


def _graph_edges(path: Path):
    """(op count, producer->consumer op edges, first output name per op, op code per op) of subgraph 0."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(path.read_bytes(), 0)
    labels = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = model.Subgraphs(0)
    producer, edges, names, codes = {}, [], [], []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        codes.append(labels.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM"))
        outputs = [op.Outputs(j) for j in range(op.OutputsLength())]
        names.append((graph.Tensors(outputs[0]).Name() or b"").decode(errors="replace") if outputs else "")
        for j in range(op.InputsLength()):
            if op.Inputs(j) in producer:
                edges.append((producer[op.Inputs(j)], i))
        for t in outputs:
            producer[t] = i
    return graph.OperatorsLength(), edges, names, codes


# -- the budget --------------------------------------------------------------------------
def budget_of(target: str | None) -> dict[str, int]:
    """The partitions each accelerator may cut a ``target`` artifact into ({}: counted only)."""
    found = None if target is None else get_target(target).partition_budget
    return dict(found or {})


def partitions_card(counts: dict[str, "PartitionCount | None"], target: str | None) -> dict:
    """The model card's ``partitions`` object: per accelerator, the budget and whether it holds.

    ``target``: whose phone budget binds (None: counted for the record only).
    """
    limits = budget_of(target)
    card: dict = {name: (None if count is None else count.to_dict()) for name, count in counts.items()}
    card["budget"] = limits
    card["within_budget"] = all(
        counts.get(name) is None or counts[name].partitions <= limit for name, limit in limits.items()
    )
    return card


def check_budget(counts: dict[str, "PartitionCount | None"], target: str, artifact: str) -> None:
    """One ``VmfError`` line when ``artifact`` (of a ``target`` meant for phones) exceeds its budget."""
    for name, limit in budget_of(target).items():
        count = counts.get(name)
        if count is None or count.partitions <= limit:
            continue
        first = count.first_unsupported
        culprit = (
            f"; first unsupported op {first['op']} in {first['where']} ({first['node']})" if first else ""
        )
        raise VmfError(
            f"{artifact}: the {_ORT_EPS[name]} would run it in {count.partitions} "
            f"partitions (budget {limit}){culprit}; --allow-partitions keeps it"
        )


def summary(counts: dict[str, "PartitionCount | None"]) -> str:
    """``coreml_mlprogram 1, nnapi 1`` partitions, for the export log."""
    return ", ".join(f"{name} {count.partitions}" for name, count in counts.items() if count is not None)
