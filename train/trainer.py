"""The training loop behind ``vmf-train``: recipe, run folder, resume, DDP.

Recipe (X3D-XS / MoViNet-A0 style, docs/training.md; the configuration,
optimizer, schedule and network are ``vmf.train.recipe``'s): AdamW or SGD with
Nesterov momentum, linear warm-up then a cosine decay per step, weight decay
off for norms, biases and the global tokens, label smoothing, gradient-norm
clipping, mixed precision on CUDA.

Run folder (Ultralytics ``yolo train`` style): ``args.json``, ``classes.txt``,
``results.csv`` (one row an epoch), ``weights/last.pt`` (a vmf checkpoint plus
the optimizer, scheduler, RNG and position, so ``--resume`` continues exactly)
and ``weights/best.pt`` (best validation top-1), both self-describing vmf
checkpoints with the class names, a training-curve and a confusion-matrix PNG.

Under ``torchrun`` the same code runs as DistributedDataParallel (gloo on CPU,
NCCL on CUDA): each rank reads its share through a ``DistributedSampler``,
metrics are all-reduced as counts (``vmf.train.distributed``), and only rank 0
writes files and draws the progress bar.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vmf.model import MEAN, STD, VmfError, save_checkpoint
from vmf.model.checkpoint import read_checkpoint
from vmf.model.files import write_text

from .distributed import all_reduce_sum, init_distributed, pick_device, step_seed, stop_signals
from .ema import WeightAverage
from .fast_backward import speed_up_training
from .metrics import Tally
from .recipe import TrainConfig, build_network, lr_lambda, make_optimizer

# Moved to .distributed and .recipe; still importable from here.
from .distributed import Dist, collective_tensor, process_group_backend  # noqa: F401
from .recipe import load_init, param_groups  # noqa: F401

RESULT_FIELDS = (
    "epoch",
    "lr",
    "train_loss",
    "train_top1",
    "val_loss",
    "val_top1",
    "val_top5",
    "val_mean_class_accuracy",
    "clips_per_s",
    "seconds",
)


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived; ``last.pt`` has been written."""


class RunError(VmfError):
    """An error every process of a run raises at the same point, decided on all-reduced
    counts (so under torchrun only rank 0 needs to report it)."""


# A run whose first videos all fail to decode stops here, not after a whole epoch of warnings.
NOTHING_DECODED_LIMIT = 256
# BatchNorm in training needs two values per channel: a step where a process has fewer clips
# (its videos failed to decode, or the last batch of an epoch holds one) is skipped everywhere.
MIN_CLIPS = 2


def rng_state(device: torch.device | None = None) -> dict:
    """Every generator a step draws from, as tensors and plain types only: ``read_checkpoint``
    loads with ``weights_only=True``, which refuses numpy arrays."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": torch.from_numpy(np.asarray(keys, np.int64)),
        "numpy_pos": int(pos),
        "numpy_gauss": [int(has_gauss), float(gauss)],
        "python": repr(random.getstate()),
    }
    if device is not None and device.type == "cuda":  # dropout on the GPU draws from its generator
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: torch.device | None = None) -> None:
    torch.set_rng_state(state["torch"])
    has_gauss, gauss = state["numpy_gauss"]
    np.random.set_state(
        (
            "MT19937",
            state["numpy"].numpy().astype(np.uint32),
            int(state["numpy_pos"]),
            int(has_gauss),
            float(gauss),
        )
    )
    import ast

    random.setstate(ast.literal_eval(state["python"]))
    if "cuda" in state and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


# --------------------------------------------------------------------------- the run


class Run:
    """One training run: the model, its data and its folder."""

    def __init__(self, cfg: TrainConfig, *, log=None, warn=None, progress: bool = True):
        self.cfg = cfg.resolved()
        self.device = pick_device(self.cfg.device, int(os.environ.get("LOCAL_RANK", "0")))
        self.dist = init_distributed(self.device)
        main = self.dist.main
        self.log = log if log and main else (lambda m: print(m, file=sys.stderr) if main else None)
        self.warn = warn or self.log
        self.progress = progress and main
        self.out = Path(self.cfg.out)
        self.weights = self.out / "weights"
        if self.cfg.threads and self.device.type == "cpu":
            torch.set_num_threads(self.cfg.threads)
        from .data_setup import make_datasets

        self.train_set, self.val_set, self.classes = make_datasets(self.cfg, MEAN, STD, self.warn)
        torch.manual_seed(self.cfg.seed)
        self.model = build_network(self.cfg, len(self.classes), self.log).to(self.device)
        if self.device.type == "cpu":  # same weights and function, faster backward (fast_backward.py)
            speed_up_training(self.model)
        self.model.classes = list(self.classes)
        self.model.sample_fps = self.cfg.sample_fps
        self.model.clip_sampling = self.cfg.clip_sampling
        # after the attributes above: the average is a copy, and checkpoints are written from it
        self.ema = WeightAverage(self.model, self.cfg.ema) if self.cfg.ema else None
        self.net: nn.Module = self.model
        if self.dist.active:
            if self.device.type == "cuda":  # SyncBatchNorm refuses CPU modules
                self.net = nn.SyncBatchNorm.convert_sync_batchnorm(self.net)
            self.net = nn.parallel.DistributedDataParallel(
                self.net, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.optimizer = make_optimizer(self.cfg, self.model)
        self.steps_per_epoch = max(1, math.ceil(len(self.train_set) / (self.cfg.batch * self.dist.world)))
        total = self.steps_per_epoch * self.cfg.epochs
        warmup = int(self.cfg.warmup_epochs * self.steps_per_epoch)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(total, warmup))
        self.use_amp = self.cfg.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        # summed over the clips of a step, then scaled by the step's clips over every process
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=self.cfg.label_smoothing, reduction="sum")
        self.epoch = 0  # the epoch in progress (0-based)
        self.step_in_epoch = 0
        self.partial = np.zeros(3)  # loss sum, correct, count of the epoch in progress (all processes)
        self.best = -1.0
        self.best_epoch = -1
        self.history: list[dict] = []
        self.skipped = 0  # videos that could not be decoded, all processes
        self.decoded = 0  # training clips decoded since the run began, all processes
        self.started = time.time()
        self.elapsed_before = 0.0
        self.stop_signal: int | None = None  # set by Ctrl-C / SIGTERM during fit()
        self._files_written = False
        self._saved_at: tuple[int, int] | None = None  # the position weights/last.pt holds

    # ------------------------------------------------------------------ state

    def train_state(self) -> dict:
        return {
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "partial": torch.from_numpy(self.partial.copy()),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_state(self.device),
            "best": self.best,
            "best_epoch": self.best_epoch,
            "history": json.dumps(self.history),
            "args": json.dumps(asdict(self.cfg)),
            "world": self.dist.world,
            "skipped": self.skipped,
            "decoded": self.decoded,
            "elapsed": self.elapsed_before + time.time() - self.started,
            # with --ema the checkpoint's weights are the average; the raw ones continue the run
            **(
                {"ema": self.ema.state(), "raw_weights": self.model.state_dict()}
                if self.ema is not None
                else {}
            ),
        }

    @property
    def eval_model(self) -> nn.Module:
        """What validation scores and checkpoints hold: the weight average with --ema."""
        return self.ema.model if self.ema is not None else self.model

    def load_train_state(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.step_in_epoch = int(state["step_in_epoch"])
        self.partial = state["partial"].numpy().astype(np.float64)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"], self.device)
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.history = json.loads(state["history"])
        self.skipped = int(state.get("skipped", 0))
        self.decoded = int(state.get("decoded", 1 if self.history or self.partial[2] > 0 else 0))
        self.elapsed_before = float(state.get("elapsed", 0.0))
        self._saved_at = (self.epoch, self.step_in_epoch)
        if self.ema is not None:  # the model was loaded with the checkpoint's (averaged) weights
            self.ema.load(self.model.state_dict(), state["ema"])
            self.model.load_state_dict(state["raw_weights"])

    def save(self, name: str, *, resumable: bool) -> Path:
        self._write_run_files()
        extra = {"train_state": self.train_state()} if resumable else {}
        if resumable:
            self._saved_at = (self.epoch, self.step_in_epoch)
        extra["training"] = {
            "epochs_done": self.epoch,
            "best_top1": self.best,
            "best_epoch": self.best_epoch,
            "data": self.cfg.data,
        }
        return save_checkpoint(
            self.eval_model,
            self.weights / name,
            classes=self.classes,
            sample_fps=self.cfg.sample_fps,
            extra=extra,
        )

    # ------------------------------------------------------------------ loops

    def loader(self, dataset, train: bool):
        if train and self.dist.active:  # each process its share of one permutation per epoch
            sampler = torch.utils.data.DistributedSampler(
                dataset,
                num_replicas=self.dist.world,
                rank=self.dist.rank,
                shuffle=True,
                seed=self.cfg.seed,
                drop_last=False,  # pads with repeats: every process runs the same number of steps
            )
            sampler.set_epoch(self.epoch)
        elif train:  # a fixed order per epoch, so a resumed epoch replays the same batches
            g = torch.Generator().manual_seed(self.cfg.seed * 100003 + self.epoch)
            sampler = torch.randperm(len(dataset), generator=g).tolist()
        else:  # every validation video exactly once over the processes (no padding: no collectives
            sampler = range(self.dist.rank, len(dataset), self.dist.world)  # per batch, see validate)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(self.epoch)
        indices = list(iter(sampler))
        skip = self.step_in_epoch * self.cfg.batch if train else 0
        from .datasets import collate_skip

        if self.cfg.data != "synth":  # FFmpeg's own lines off; vmf's one skip warning stays
            dataset = _QuietDecoding(dataset)
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=self.cfg.batch,
            sampler=indices[skip:],
            num_workers=self.cfg.workers,
            collate_fn=collate_skip,
            # its own generator: creating a loader must not draw from the global
            # RNG, or a resumed epoch would see other dropout masks
            generator=torch.Generator().manual_seed(self.cfg.seed + self.epoch),
            persistent_workers=False,
            pin_memory=self.device.type == "cuda",
        )

    def train_epoch(self, on_step=None) -> dict:
        """The rest of the epoch in progress; raises ``KeyboardInterrupt`` once a process was asked
        to stop (after the step it was asked in, on every process).

        Every process runs every step and joins each of its collectives whatever its batch
        holds: one all-reduce of the clip counts before the step (a step where any process has
        fewer than ``MIN_CLIPS`` decodable clips is skipped by all of them) and one of the loss,
        the hits and the stop flag after it. The metrics are kept as sums over every process.
        """
        self.net.train()
        if self.cfg.freeze_backbone:  # frozen BN statistics stay frozen
            for name, m in self.model.named_modules():
                if not name.startswith("head.") and isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        loader = self.loader(self.train_set, train=True)
        bar = self._bar(len(loader), f"epoch {self.epoch + 1}/{self.cfg.epochs}", self.step_in_epoch)
        clips, skipped_epoch, t0 = 0, 0, time.time()
        try:
            for clips_batch, labels, skipped in loader:
                count, short, skipped_step = all_reduce_sum(
                    [len(labels), len(labels) < MIN_CLIPS, skipped], self.dist
                )
                count, skipped_step = int(count), int(skipped_step)
                self.skipped += skipped_step
                skipped_epoch += skipped_step
                self.decoded += count
                mine = np.zeros(3)  # this process's loss sum, hits, clips
                if short == 0:
                    mine = self._train_step(clips_batch, labels, count)
                    clips += count
                elif count and skipped_step:
                    self.log(
                        f"epoch {self.epoch + 1} step {self.step_in_epoch + 1}: skipped on every process "
                        f"(a batch kept fewer than {MIN_CLIPS} decodable clips)"
                    )
                self.step_in_epoch += 1
                stop = 1.0 if self.stop_signal is not None else 0.0
                totals = all_reduce_sum([*mine, stop], self.dist)
                self.partial += totals[:3]
                if self.decoded == 0 and self.skipped >= NOTHING_DECODED_LIMIT:
                    raise self._undecodable("training", f"the first {self.skipped} tried")
                if bar is not None:
                    loss_avg = self.partial[0] / max(self.partial[2], 1)
                    acc = self.partial[1] / max(self.partial[2], 1)
                    bar.set_postfix_str(
                        f"loss {loss_avg:.3f} acc {acc:.3f} {clips / max(time.time() - t0, 1e-9):.1f} clips/s"
                    )
                    bar.update(1)
                if on_step is not None:
                    on_step(self)
                if totals[3] > 0:
                    raise KeyboardInterrupt
        finally:  # also when a stop or an error leaves the epoch
            if bar is not None:
                bar.close()
        seconds = time.time() - t0
        n = int(round(self.partial[2]))
        if n == 0:
            raise self._undecodable("training", f"{skipped_epoch} skipped in epoch {self.epoch + 1}")
        return {
            "train_loss": self.partial[0] / n,
            "train_top1": self.partial[1] / n,
            "clips_per_s": clips / max(seconds, 1e-9),
            "seconds": seconds,
        }

    def _train_step(self, clips_batch, labels, count: int) -> np.ndarray:
        """One optimisation step on this process's batch; ``count``: the step's clips, all processes."""
        torch.manual_seed(step_seed(self.cfg.seed, self.dist.rank, self.epoch, self.step_in_epoch))
        x = clips_batch.to(self.device, non_blocking=True)
        y = labels.to(self.device, non_blocking=True)
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
            logits = self.net(x)
            loss_sum = self.loss_fn(logits.float(), y)
        # DDP averages the gradients over the processes: this makes it the mean over every clip
        loss = loss_sum * (self.dist.world / count)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        if self.cfg.clip_grad > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update(self.model)
        return np.array([loss_sum.item(), float((logits.argmax(1) == y).sum()), len(y)], np.float64)

    def _undecodable(self, what: str, detail: str) -> RunError:
        message = f"no {what} video could be decoded ({detail}; see the warnings above)"
        if self._saved_at is not None:  # an earlier epoch (or a Ctrl-C) saved the run so far
            message += f"; the run so far is in {self.weights / 'last.pt'}"
        return RunError(message)

    def _sync_buffers(self) -> None:
        """Give every rank rank 0's BatchNorm statistics (DDP copies them only before a forward)."""
        if self.dist.active:
            import torch.distributed as dist

            for buffer in self.model.buffers():
                dist.broadcast(buffer, 0)
            if self.ema is not None:
                for buffer in self.ema.model.buffers():
                    dist.broadcast(buffer, 0)

    @torch.no_grad()
    def validate(self) -> dict:
        """Each process scores its own videos (an unpadded share: no collective until the counts
        are summed, so shares of unequal length or undecodable videos cannot hang a run)."""
        if self.val_set is None:
            return {}
        tally = Tally(len(self.classes))
        self.net.eval()
        loader = self.loader(self.val_set, train=False)
        bar = self._bar(len(loader), "  val")
        skipped = 0
        for clips_batch, labels, skipped_batch in loader:
            skipped += skipped_batch
            if len(labels) > 0:
                x = clips_batch.to(self.device)
                with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
                    logits = self.eval_model(x).float()  # not through DDP: its forward may broadcast
                loss = nn.functional.cross_entropy(logits, labels.to(self.device), reduction="sum")
                tally.add(logits.cpu().numpy(), labels.numpy(), float(loss))
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        totals = all_reduce_sum(np.append(tally.as_vector(), skipped), self.dist)
        tally.load_vector(totals[:-1])
        self.skipped += int(round(totals[-1]))
        if tally.n == 0:
            raise self._undecodable("validation", f"{int(round(totals[-1]))} skipped")
        return tally.summary(self.classes)

    def _bar(self, total: int, desc: str, initial: int = 0):
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(
            total=total,
            initial=initial,
            desc=desc,
            unit="batch",
            file=sys.stderr,
            dynamic_ncols=True,
            leave=True,
            mininterval=1.0,
        )

    # ------------------------------------------------------------------ driver

    def stop_everywhere(self) -> bool:
        """Whether any process was asked to stop (a collective: every process calls it)."""
        return all_reduce_sum([1.0 if self.stop_signal is not None else 0.0], self.dist)[0] > 0

    def fit(self, on_step=None) -> dict:
        """Train to ``epochs`` (or early stop); return the summary dict.

        Ctrl-C or SIGTERM, on any process, stops every process after the same step (the
        flag is all-reduced after each step, and after each epoch's files are written);
        rank 0 writes ``last.pt`` once and every process raises ``Interrupted``.
        """
        self.stop_signal = None

        def on_signal(signum, frame):  # finish the step, then save and leave
            self.stop_signal = signum

        with stop_signals(on_signal):
            last_val: dict = {}
            try:
                while self.epoch < self.cfg.epochs:
                    train = self.train_epoch(on_step)
                    self._sync_buffers()
                    val = self.validate()
                    last_val = val
                    row = {
                        "epoch": self.epoch + 1,
                        "lr": self.optimizer.param_groups[0]["lr"],
                        **train,
                        "val_loss": val.get("loss", float("nan")),
                        "val_top1": val.get("top1", float("nan")),
                        "val_top5": val.get("top5", float("nan")),
                        "val_mean_class_accuracy": val.get("mean_class_accuracy", float("nan")),
                    }
                    self.history.append({k: row[k] for k in RESULT_FIELDS})
                    score = row["val_top1"] if val else -row["train_loss"]
                    improved = score > self.best
                    if improved:
                        self.best, self.best_epoch = score, self.epoch + 1
                    self.epoch += 1
                    self.step_in_epoch = 0
                    self.partial = np.zeros(3)
                    if self.dist.main:
                        self._write_run_files()
                        self._write_results()
                        self.save("last.pt", resumable=True)
                        if improved:
                            self.save("best.pt", resumable=False)
                            self._plot_confusion(val)
                        self._plot_curves()
                        self.log(
                            f"epoch {self.epoch}/{self.cfg.epochs}: train loss {row['train_loss']:.4f} "
                            f"top-1 {row['train_top1']:.3f} | val loss {row['val_loss']:.4f} "
                            f"top-1 {row['val_top1']:.3f} top-5 {row['val_top5']:.3f} "
                            f"mean-class {row['val_mean_class_accuracy']:.3f} | "
                            f"{row['clips_per_s']:.1f} clips/s"
                        )
                    if self.cfg.patience and self.epoch - self.best_epoch >= self.cfg.patience:
                        self.log(
                            f"early stop: no better val top-1 for {self.cfg.patience} epochs "
                            f"(best {self.best:.3f} at epoch {self.best_epoch})"
                        )
                        break
                    if self.epoch < self.cfg.epochs and self.stop_everywhere():  # asked during validation
                        raise KeyboardInterrupt
            except KeyboardInterrupt:
                if self.dist.main:
                    if self._saved_at != (self.epoch, self.step_in_epoch):
                        self.save("last.pt", resumable=True)
                    self.log(
                        f"interrupted in epoch {self.epoch + 1} at step {self.step_in_epoch}; "
                        f"saved {self.weights / 'last.pt'}; continue with --resume {self.out}"
                    )
                raise Interrupted() from None
            return self.summary(last_val)

    def summary(self, val: dict) -> dict:
        return {
            "out": str(self.out),
            "epochs": self.epoch,
            "best_epoch": self.best_epoch,
            "best_top1": self.best,
            "val": {k: v for k, v in val.items() if k != "confusion"},
            "last": str(self.weights / "last.pt"),
            "best": str(self.weights / "best.pt"),
            "classes": self.classes,
            "skipped": self.skipped,
            "seconds": round(self.elapsed_before + time.time() - self.started, 1),
        }

    # ------------------------------------------------------------------ files

    def _write_run_files(self) -> None:
        """The folder, args.json and classes.txt, written at the first save: a run that fails
        before it has anything to save leaves no folder behind."""
        if not self.dist.main or self._files_written:
            return
        self.weights.mkdir(parents=True, exist_ok=True)
        self._files_written = True
        write_text(self.out / "args.json", json.dumps(asdict(self.cfg), indent=2) + "\n")
        write_text(self.out / "classes.txt", "".join(f"{c}\n" for c in self.classes))

    def _write_results(self) -> None:
        rows = [",".join(RESULT_FIELDS)]
        for h in self.history:
            rows.append(
                ",".join(f"{h[k]:.6g}" if isinstance(h[k], float) else str(h[k]) for k in RESULT_FIELDS)
            )
        write_text(self.out / "results.csv", "\n".join(rows) + "\n")

    def _plot_curves(self) -> None:
        from .plots import plot_curves

        plot_curves(self.history, self.out / "results.png", self.warn)

    def _plot_confusion(self, val: dict) -> None:
        if "confusion" in val:
            from .plots import plot_confusion

            plot_confusion(
                np.asarray(val["confusion"]), self.classes, self.out / "confusion_matrix.png", self.warn
            )


def resume_config(run_dir: str) -> tuple[TrainConfig, dict]:
    """The arguments and state of an earlier run, from ``RUN/weights/last.pt``."""
    last = Path(run_dir) / "weights" / "last.pt"
    if not last.is_file():
        raise VmfError(f"--resume {run_dir}: no {last} (is it a vmf-train run folder?)")
    ckpt = read_checkpoint(last)
    state = ckpt.get("train_state")
    if not isinstance(state, dict) or "args" not in state:
        raise VmfError(f"--resume {run_dir}: {last} holds no training state (written by another tool?)")
    args = json.loads(state["args"])
    known = {f for f in TrainConfig.__dataclass_fields__}
    cfg = TrainConfig(**{k: v for k, v in args.items() if k in known})
    return replace(cfg, out=str(run_dir)), ckpt


class _QuietDecoding(torch.utils.data.Dataset):
    """A video dataset whose items are decoded with FFmpeg's own log lines off
    (``video_io.quiet_ffmpeg``): an undecodable video gets vmf's one warning line only."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        from .video_io import quiet_ffmpeg

        with quiet_ffmpeg():
            return self.dataset[index]
