"""``vmf-train``: train or fine-tune a variant on your videos (or the motion generator).

    vmf-train synth --variant 560M --resolution 112 --epochs 12 --out runs/motion
    vmf-train my_videos/ --variant 560M --init runs/motion/weights/best.pt --freeze-backbone
    vmf-train --resume runs/motion
    torchrun --nproc-per-node 2 -m vmf.train.train_cli synth ...     # DDP, same arguments

A bad command line is one ``error:`` line and exit code 2, any other user
error one line and exit code 1 (``vmf.model.cli``); Ctrl-C saves
``weights/last.pt`` and exits with 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields, replace
from pathlib import Path

from vmf.contract.sampling import CLIP_SAMPLINGS
from vmf.model import VARIANTS, VmfError
from vmf.model.cli import ERROR_EXIT, INTERRUPTED_EXIT, Parser, UsageError, print_error

# .trainer (torch) is imported once the command line is parsed: --help stays fast.

PROG = "vmf-train"


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        description=(
            "Train Video Mobile-Former on class folders, a list file, or 'synth' (the motion "
            "generator, rendered in memory). Writes a run folder: weights/last.pt, weights/best.pt, "
            "results.csv, plots."
        ),
    )
    p.add_argument(
        "data",
        nargs="?",
        help="'synth', a folder (ROOT/<class>/*.mp4 or ROOT/train + "
        "ROOT/val), or a list file of 'path label' lines",
    )
    p.add_argument("--variant", default="560M", choices=list(VARIANTS))
    p.add_argument("--baseline", action="store_true", help="train the Mobile3D baseline (Table 2)")
    p.add_argument(
        "--activation",
        default="dyrelu",
        choices=["dyrelu", "relu"],
        help="frame-level DY-ReLU (default) or plain ReLU (Table 11 ablation)",
    )
    p.add_argument(
        "--stem-kernel",
        type=int,
        metavar="K",
        help="ablation: the stem's temporal kernel (default: the variant's; 560M: 8, tiling the clip)",
    )
    p.add_argument(
        "--stem-padding",
        type=int,
        metavar="P",
        help="with --stem-kernel: its temporal padding (default K // 2)",
    )
    p.add_argument("--init", metavar="CKPT", help="fine-tune from a vmf checkpoint or a state dict")
    p.add_argument("--freeze-backbone", action="store_true", help="train the head only")
    p.add_argument("--frames", type=int, default=64, help="clip length T (default 64)")
    p.add_argument("--resolution", type=int, help="input side R (default: the variant's)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=8, help="clips per step and process")
    p.add_argument("--lr", type=float, help="peak learning rate (default: 2e-3 adamw, 0.1 sgd)")
    p.add_argument("--optimizer", default="adamw", choices=["adamw", "sgd"])
    p.add_argument("--weight-decay", type=float, help="default: 0.05 adamw, 5e-5 sgd")
    p.add_argument("--warmup", type=float, default=1.0, dest="warmup_epochs", metavar="EPOCHS")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--clip-grad", type=float, default=5.0, help="max gradient norm (0: off)")
    p.add_argument(
        "--ema",
        type=float,
        default=0.0,
        metavar="DECAY",
        help="validate and save a moving average of the weights with this decay per step, "
        "e.g. 0.998 (default 0: off)",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    p.add_argument("--workers", type=int, default=1, help="data-loading processes")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument(
        "--patience", type=int, default=0, help="stop after N epochs without a better val top-1 (0: never)"
    )
    p.add_argument(
        "--resume",
        metavar="RUN",
        help="continue RUN exactly where it stopped, with its own settings (only --workers, "
        "--threads, --device and --json may be given with it)",
    )
    p.add_argument("--out", default=None, help="run folder (default runs/train)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val", help="validation folder or list file")
    p.add_argument("--val-split", type=float, help="hold out this fraction of each class")
    p.add_argument(
        "--flip-map",
        help="horizontal flip with label swaps 'a:b,c:d' (default: no "
        "flip; 'synth' uses its own map); '' flips with no swaps",
    )
    p.add_argument("--epoch-size", type=int, default=2000, help="synth: training clips an epoch")
    p.add_argument("--val-size", type=int, default=500, help="synth: validation clips")
    p.add_argument(
        "--clip-sampling",
        choices=list(CLIP_SAMPLINGS),
        default="video",
        help="video: one clip over each whole video (paper protocol); stream: T consecutive frames "
        "(at --sample-fps) from a random position, the windows a live stream sees",
    )
    p.add_argument(
        "--sample-fps",
        type=float,
        help="the rate frames are kept at (stream windows are taken at it, and the runtime samples "
        "a stream at it); default: the video's own rate",
    )
    p.add_argument(
        "--video-share",
        type=float,
        default=0.0,
        metavar="F",
        help="synth with --clip-sampling stream: this fraction of training clips are whole videos",
    )
    p.add_argument("--json", action="store_true", help="print one JSON summary last")
    return p


def config_from_args(args):
    from .trainer import TrainConfig

    if not args.data:
        raise VmfError("give DATA ('synth', a folder or a list file) or --resume RUN")
    for name in ("frames", "epochs", "batch", "epoch_size"):
        if getattr(args, name) < 1:
            raise VmfError(f"--{name.replace('_', '-')} must be >= 1")
    if args.resolution is not None and args.resolution < 32:
        raise VmfError("--resolution must be >= 32 (the network downsamples 32x)")
    if args.stem_padding is not None and args.stem_kernel is None:
        raise VmfError("--stem-padding needs --stem-kernel")
    if args.stem_kernel is not None and not (
        args.stem_kernel >= 1 and 0 <= (args.stem_padding or 0) < args.stem_kernel
    ):
        raise VmfError("--stem-kernel must be >= 1 and --stem-padding in [0, kernel)")
    if args.workers < 0 or args.patience < 0 or args.val_size < 0:
        raise VmfError("--workers, --patience and --val-size must be >= 0")
    if not 0.0 <= args.ema < 1.0:
        raise VmfError(f"--ema must be in [0, 1), got {args.ema}")
    if not 0.0 <= args.video_share <= 1.0:
        raise VmfError("--video-share must be in [0, 1]")
    if args.sample_fps is not None and not args.sample_fps > 0:
        raise VmfError(f"--sample-fps must be > 0, got {args.sample_fps}")
    if args.data != "synth" and not Path(args.data).exists():
        raise VmfError(f"data not found: {args.data}")
    known = {f.name for f in fields(TrainConfig)}
    values = {k: v for k, v in vars(args).items() if k in known and v is not None}
    values["out"] = args.out or "runs/train"
    return TrainConfig(**values)


def check_out(out: Path) -> None:
    """Refuse an unwritable folder, or one that already holds a run (use --resume)."""
    if (out / "weights" / "last.pt").exists():
        raise VmfError(
            f"--out {out} already holds a run; continue it with --resume {out} or choose another --out"
        )
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".vmf-write-test"
        probe.write_text("")
        probe.unlink()
        if created:  # the run creates it when it starts; a failed start leaves nothing
            out.rmdir()
    except OSError as exc:
        raise VmfError(f"cannot write to --out {out} ({exc.strerror or type(exc).__name__})") from None


# What --resume may be given with: how a run is executed or reported, never what it computes.
RESUME_OPTIONS = ("resume", "json", "workers", "threads", "device")


def explicit_options(argv=None) -> list[str]:
    """The destinations of the options (and DATA) a command line gives explicitly, whatever
    their values (``--epochs 30`` is explicit too), in the parser's order."""
    parser = build_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    given = vars(parser.parse_args(argv))
    return [action.dest for action in parser._actions if action.dest in given]


def check_resume(args, given: list[str]) -> None:
    """Refuse ``--resume RUN`` with options that would change the run (one line, exit 2)."""
    changing = [dest for dest in given if dest not in RESUME_OPTIONS]
    if not changing:
        return
    names = {a.dest: (a.option_strings[0] if a.option_strings else "DATA") for a in build_parser()._actions}
    raise UsageError(
        f"--resume continues {args.resume} with the settings it was started with; "
        f"{', '.join(names[dest] for dest in changing)} would change them (to train further or "
        f"otherwise, start a new run from its weights: --init {Path(args.resume) / 'weights' / 'last.pt'})"
    )


def start(args, given=()):
    from .trainer import Run, resume_config

    if args.resume:
        cfg, ckpt = resume_config(args.resume)
        if "workers" in given and args.workers < 0:
            raise VmfError("--workers must be >= 0")
        cfg = replace(cfg, **{k: getattr(args, k) for k in RESUME_OPTIONS if k in given and hasattr(cfg, k)})
        run = Run(cfg)
        state = ckpt["train_state"]
        if int(state.get("world", 1)) != run.dist.world:
            raise VmfError(
                f"--resume {args.resume}: the run used {state['world']} processes, "
                f"this one has {run.dist.world}"
            )
        try:
            run.model.load_state_dict(
                {k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
            )
        except RuntimeError as exc:
            raise VmfError(
                f"--resume {args.resume}: its weights do not fit the run's model "
                f"({str(exc).splitlines()[0][:120]})"
            ) from None
        run.load_train_state(state)
        if run.epoch >= cfg.epochs:
            raise VmfError(
                f"--resume {args.resume}: the run already finished its {cfg.epochs} epochs (to train "
                f"further, start a new run from its weights: --init {Path(args.resume) / 'weights' / 'last.pt'})"
            )
        run.log(f"resuming {args.resume} at epoch {run.epoch + 1}, step {run.step_in_epoch}")
        return run
    cfg = config_from_args(args)
    if int(os.environ.get("RANK", "0")) == 0:
        check_out(Path(cfg.out))
    return Run(cfg)


def main(argv=None, on_step=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        given = explicit_options(argv)
        if args.resume:
            check_resume(args, given)
    except UsageError as exc:
        print_error(str(exc))
        return 2
    from .trainer import Interrupted, RunError

    try:
        run = start(args, given)
        summary = run.fit(on_step=on_step)
    except Interrupted:
        return INTERRUPTED_EXIT
    except KeyboardInterrupt:  # before the run's own handlers (loading, building, joining the group)
        print_error("interrupted")
        return INTERRUPTED_EXIT
    except VmfError as exc:
        # every process raises a RunError at once: rank 0 says it for all
        if not isinstance(exc, RunError) or int(os.environ.get("RANK", "0")) == 0:
            print_error(str(exc))
        return ERROR_EXIT
    except OSError as exc:
        print_error(f"{exc.strerror or exc} ({getattr(exc, 'filename', '') or ''})")
        return ERROR_EXIT
    finally:
        _leave_process_group()
    if run.dist.main:
        run.log(
            f"done: best val top-1 {summary['best_top1']:.3f} at epoch {summary['best_epoch']}; "
            f"weights in {run.weights}"
        )
        if args.json:
            print(json.dumps(summary))
    return 0


def _leave_process_group() -> None:
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    except Exception:  # shutting down: nothing useful to report
        pass


if __name__ == "__main__":
    sys.exit(main())
