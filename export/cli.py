"""``vmf-export``: a thin command line over ``vmf.export.export``.

Every user error is one ``error: ...`` line on stderr and exit status 1 (2 for
a malformed command line), never a traceback (``vmf.model.cli``); converter
output is shown with ``--verbose``, otherwise kept in a log under ``--out``
when a step fails; ``--json`` prints one summary
object last, on stdout, with the progress lines moved to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from vmf.contract import targets as registry
from vmf.contract.targets import DEFAULT_TARGET, PRECISIONS, did_you_mean, listed
from vmf.model import VARIANTS
from vmf.model.cli import Parser, print_error, run_main


def _choice(choices, what: str, normalise=lambda v: v):
    def parse(value: str) -> str:
        value = normalise(value)
        if value not in choices:
            raise argparse.ArgumentTypeError(str(did_you_mean(value, choices, what)))
        return value

    return parse


def _default_precisions() -> str:
    """``fp32 for onnx, tflite and executorch, fp16 for coreml and ...``, from the registry."""
    by_precision: dict[str, list[str]] = {}
    for t in registry.REGISTRY.values():
        if t.converter_precisions:
            for conv in t.converters:
                label = t.name if conv == t.default_converter else f"{t.name} --{t.converter_option} {conv}"
                by_precision.setdefault(t.default_precisions(conv)[0], []).append(label)
        else:
            by_precision.setdefault(t.default_precision, []).append(t.name)
    return ", ".join(f"{p} for {listed(labels)}" for p, labels in by_precision.items())


def _option_help(option: str) -> str:
    """``TFLite converter (default: litert-torch)``: the targets the option applies to, and their defaults."""
    owners = registry.owners(option)
    notes = "".join(f"; {t.option_note}" for t in owners if t.option_note)
    if len(owners) == 1:
        defaults = str(owners[0].default_converter)
    else:  # one option shared by several targets (--delegate): say whose default is whose
        defaults = listed(f"{t.default_converter} for {t.name}" for t in owners)
    return f"{'/'.join(t.title for t in owners)} {option} (default: {defaults}{notes})"


def build_parser() -> argparse.ArgumentParser:
    """The parser; its choices and texts are read from the target registry (vmf.contract.targets)."""
    targets = registry.names() + ("all",)
    budgeted = [t.name for t in registry.REGISTRY.values() if t.partition_budget is not None]
    splittable = [t for t in registry.REGISTRY.values() if t.splittable]
    formats = listed((t.title for t in registry.REGISTRY.values()), last="or")
    p = Parser(
        prog="vmf-export",
        description=f"Export Video Mobile-Former to {formats}, with parity to PyTorch checked at export.",
    )
    p.add_argument(
        "--variant",
        metavar="{" + ",".join(VARIANTS) + "}",
        type=_choice(tuple(VARIANTS), "variant", lambda v: v.upper()),
        help="model variant (paper Table 1); default: the --weights checkpoint's",
    )
    p.add_argument(
        "--target",
        default=DEFAULT_TARGET,
        metavar="{" + ",".join(targets) + "}",
        type=_choice(targets, "target", str.lower),
        help="what to export; "
        + "".join(f"{t.name} = {t.note}; " for t in registry.REGISTRY.values() if t.note)
        + f"all = {listed(registry.all_names())} (default: {DEFAULT_TARGET})",
    )
    p.add_argument(
        "--precision",
        action="append",
        metavar="{" + ",".join(PRECISIONS) + "}",
        type=_choice(PRECISIONS, "precision", str.lower),
        help=f"repeatable; default: {_default_precisions()}",
    )
    for option in registry.OPTIONS:  # --converter, --delegate
        p.add_argument(
            f"--{option}",
            metavar="{" + ",".join(registry.choices(option)) + "}",
            type=_choice(registry.choices(option), option, str.lower),
            help=_option_help(option),
        )
    p.add_argument(
        "--ort-web",
        metavar="DIR",
        help="the onnxruntime-web package (or its dist folder) a web export takes its runtime "
        "files from, at the version web_demo/package.json pins (default: web_demo/node_modules, "
        "else a cache that npm fills; docs/web.md)",
    )
    p.add_argument(
        "--allow-portable",
        action="store_true",
        help="keep a .pte that leaves compute ops on ExecuTorch's portable kernels",
    )
    p.add_argument(
        "--weights",
        metavar="PATH",
        help="a vmf checkpoint or a plain state dict; default: seeded random weights",
    )
    p.add_argument("--baseline", action="store_true", help="the Mobile3D baseline (Table 2)")
    p.add_argument(
        "--frames",
        type=int,
        help="clip length T (default: the checkpoint's, else the variant's, 64); "
        "a multiple of the stem's temporal stride",
    )
    p.add_argument(
        "--resolution", type=int, help="input side R (default: the checkpoint's, else the variant's)"
    )
    p.add_argument("--num-classes", type=int, help="classifier size (default: the checkpoint's, else 400)")
    p.add_argument(
        "--labels",
        metavar="FILE",
        help="class names, one a line (default: the checkpoint's, else Kinetics-400)",
    )
    p.add_argument(
        "--calibration",
        metavar="DIR",
        help="videos to calibrate int8 on: a folder of videos, or a labelled class "
        "tree (DIR/<class>/*.mp4, or DIR/val/<class>; classes matched to the "
        "model's labels by name), which adds int8 and fp32 top-1 accuracy "
        "on held-out videos to the report",
    )
    p.add_argument(
        "--out",
        default="exports",
        metavar="DIR",
        help="output folder; files go to DIR/<target>/ (default: exports)",
    )
    p.add_argument(
        "--no-verify", action="store_true", help="keep artifacts that fail the parity or lint checks"
    )
    p.add_argument(
        "--allow-partitions",
        action="store_true",
        help=f"keep a phone artifact ({', '.join(sorted(budgeted))}) that its accelerators would cut into "
        "more partitions than its budget (docs/mobile-accelerators.md)",
    )
    p.add_argument(
        "--naive",
        action="store_true",
        help="export the reference 5-D model without the rank-4 rewrite (for comparison)",
    )
    p.add_argument(
        "--split",
        action="store_true",
        help=f"also write each fp32 {'/'.join(t.suffix for t in splittable)} as stem + body halves, so a stream "
        "computes the stem only for new frames (docs/streaming.md)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary last")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="show the converters' own output as they run (otherwise it is kept in "
        "a log under --out when a step fails, and the error names it)",
    )
    return p


def main(argv=None) -> int:
    return run_main(lambda: _main(argv))


def _main(argv) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = sys.stderr if args.json else sys.stdout

    def log(message: str) -> None:
        print(message, file=progress, flush=True)

    def warn(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.split and args.target != "all" and not registry.get(args.target).splittable:
        splittable = [t for t in registry.REGISTRY.values() if t.splittable]
        parser.error(
            f"--split writes stem + body halves of {listed(t.suffix for t in splittable)} exports; "
            f"use --target {', '.join(t.name for t in splittable)} or all"
        )
    from .api import export  # torch and the converters load here, not for --help

    try:
        report = export(
            args.variant,
            targets=(args.target,),
            precisions=args.precision,
            converter=args.converter,
            out_dir=args.out,
            weights=args.weights,
            baseline=args.baseline,
            frames=args.frames,
            resolution=args.resolution,
            num_classes=args.num_classes,
            labels=args.labels,
            calibration=args.calibration,
            verify=not args.no_verify,
            form="naive" if args.naive else "deployable",
            verbose=args.verbose,
            allow_partitions=args.allow_partitions,
            delegate=args.delegate,
            allow_portable=args.allow_portable,
            split=args.split,
            ort_web=args.ort_web,
            log=log,
            warn=warn,
        )
    except KeyboardInterrupt:
        print_error("interrupted; nothing half-written was left in --out")
        return 130
    log(f"exported {len(report.artifacts)} artifact(s) to {report.out_dir} in {report.seconds:.1f} s")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
