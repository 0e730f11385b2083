"""Time a CPU training step with and without vmf.train.fast_backward, interleaved in one process.

    python scripts/train_step_speed.py --variant 560M --frames 64 --resolution 112 --batch 16 --threads 2

Both networks start from the same weights and see the same clips and dropout
masks; each round times one forward + backward + AdamW step of each, in turn,
so a change in machine load hits both. Prints a markdown table (the median
step of each and their ratio) and how far the fast form's loss and gradients are from
the reference's on the first step.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="560M")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--resolution", type=int, default=112)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=8, help="timed rounds after one warm-up round")
    ap.add_argument("--classes", type=int, default=11)
    args = ap.parse_args(argv)
    if min(args.frames, args.resolution, args.batch, args.threads, args.rounds) < 1:
        print(
            "error: --frames, --resolution, --batch, --threads and --rounds must be positive", file=sys.stderr
        )
        return 1

    import torch
    from dataclasses import replace

    from vmf.model import VmfError, build_model, get_variant
    from vmf.train.fast_backward import speed_up_training

    torch.set_num_threads(args.threads)
    try:
        cfg = replace(get_variant(args.variant), frames=args.frames, resolution=args.resolution)
    except VmfError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    nets = {"reference": build_model(cfg, num_classes=args.classes).train()}
    nets["fast_backward"] = copy.deepcopy(nets["reference"])
    speed_up_training(nets["fast_backward"])
    optims = {k: torch.optim.AdamW(n.parameters(), 1e-4) for k, n in nets.items()}
    clips = torch.randn(args.batch, 3, args.frames, args.resolution, args.resolution)
    labels = torch.randint(0, args.classes, (args.batch,))

    times: dict[str, list[float]] = {k: [] for k in nets}
    first: dict[str, tuple[float, torch.Tensor]] = {}
    for rnd in range(args.rounds + 1):
        for name, net in nets.items():
            torch.manual_seed(1000 + rnd)  # the same dropout masks for both
            start = time.perf_counter()
            optims[name].zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(clips), labels)
            loss.backward()
            if rnd == 0:  # before any update, both hold the same weights
                first[name] = (float(loss.detach()), torch.cat([p.grad.flatten() for p in net.parameters()]))
            optims[name].step()
            if rnd:
                times[name].append(time.perf_counter() - start)
    ref_ms = statistics.median(times["reference"]) * 1e3
    fast_ms = statistics.median(times["fast_backward"]) * 1e3
    (loss_r, grad_r), (loss_f, grad_f) = first["reference"], first["fast_backward"]
    diff = float((grad_f - grad_r).norm() / grad_r.norm())
    print(
        f"| training step (VMF-{args.variant}, {args.frames}×{args.resolution}², batch {args.batch}, "
        f"{args.threads} threads) | ms/step (median of {args.rounds}) | clips/s | ×reference |"
    )
    print("|---|---:|---:|---:|")
    for label, ms in (("PyTorch's own backward", ref_ms), ("`vmf.train.fast_backward`", fast_ms)):
        print(f"| {label} | {ms:.0f} | {args.batch / ms * 1e3:.2f} | {ms / ref_ms:.2f} |")
    print(
        f"\nfirst step: |loss difference| {abs(loss_f - loss_r):.1e}, gradient relative difference {diff:.1e}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
