"""Axis experts (P3 AlignX, P10 TrinityX): one PEFT LoRA adapter per alignment axis on one frozen backbone.

Each expert is trained on its axis' (prompt, response) pairs with the loss on the response tokens only (the
prompt goes through the backbone's chat template; its labels are -100). AlignX's "prompt-injected fine-tuning" is
the optional ``prefix`` [paper: in code, "Chain of Thought: Let's think step by step."], put before every training
prompt. Adapters are trained one after the other on the same frozen backbone — one transformers ``Trainer`` run per
axis with only that axis' adapter trainable and in the optimiser, so training one axis cannot overwrite another
("axis collapse" is avoided by construction) — and saved with PEFT as safetensors, one folder per axis.

What runs where: the backbone is loaded through ``workbench.models.loaders.instantiate`` on ``pick_device()``
(``$WORKBENCH_DEVICE``), so a rehearsal (``workbench.models.rehearsal``) stands in for it like for any other model.
On the CPU its weights are float32 (the default profile's numbers); on CUDA they are the device's half dtype
(bfloat16 where supported) and stay frozen while the LoRA parameters are kept in float32 (PEFT's adapter autocast)
and the forward pass runs under bf16 autocast. Gradient accumulation and gradient checkpointing are the Trainer's;
checkpoints go to a work folder so that an interrupted training resumes (``resume=True``) where it stopped.

The backbone is loaded fresh (not the process-wide model cache), so attaching adapters never changes a model other
code is using.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from workbench import WorkbenchError
from workbench.io import write_json

ALIGNX_PREFIX = "Chain of Thought: Let's think step by step."

# LoRA settings per profile. The papers' (SPECS, from the P3/P10 READMEs: "LoRA r 64, α 32, dropout 0.1, lr 5e-4")
# on the paper profile; on the default profile (a 135M backbone on a laptop CPU) today's small adapters.
PROFILE_SETTINGS: dict[str, dict] = {
    "paper": {"r": 64, "alpha": 32, "dropout": 0.1, "lr": 5e-4},
    "default": {"r": 8, "alpha": 16, "dropout": 0.05, "lr": 5e-4},
}


@dataclass(frozen=True)
class ExpertConfig:
    r: int = 8                     # the papers: 64 (paper profile, ``for_profile("paper")``)
    alpha: int = 16                # the papers: 32
    dropout: float = 0.05          # the papers: 0.1
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    lr: float = 5e-4               # the papers' READMEs
    epochs: int = 1
    batch_size: int = 8
    max_length: int = 192
    prefix: str | None = None      # AlignX prompt injection (``ALIGNX_PREFIX``)
    seed: int = 0
    axes: tuple[str, ...] = field(default=("helpful", "harmless", "honest"))
    grad_accum: int = 1            # micro-batches per optimiser step (effective batch = batch_size · grad_accum)
    grad_checkpointing: bool = False   # recompute activations in the backward pass (memory for time)
    bf16: bool | None = None       # bf16 autocast; None: on when the device is CUDA with bf16 support

    @classmethod
    def for_profile(cls, profile_name: str, **overrides) -> "ExpertConfig":
        """The experts' settings of profile ``profile_name``: the papers' LoRA r 64, α 32, dropout 0.1, lr 5e-4
        (SPECS: the READMEs) on ``paper``; r 8, α 16, dropout 0.05 elsewhere (the default profile's small
        backbone on a CPU). ``overrides`` replace any field."""
        return cls(**{**PROFILE_SETTINGS.get(profile_name, PROFILE_SETTINGS["default"]), **overrides})


def fresh_backbone(name: str, device: str | None = None, dtype=None):
    """(model, tokenizer) of causal LM ``name``, freshly made by ``models.loaders.instantiate`` on
    ``pick_device(device)`` (a rehearsal's random-weight stand-in during a rehearsal). ``dtype`` defaults to
    ``loaders.weights_dtype``: float32 on the CPU, the device's half dtype (bfloat16 where supported) on CUDA,
    ``$WORKBENCH_DTYPE`` or the rehearsal's dtype when set."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from workbench.models import get_spec, local_path, loaders
    from workbench.profiles import pick_device

    hf_logging.disable_progress_bar()   # as models.loaders does: our own progress reporting is enough
    tokenizer = backbone_tokenizer(name)
    device = pick_device(device)
    spec = get_spec(name)
    model = loaders.instantiate(spec, AutoModelForCausalLM, local_path(spec), device,
                                dtype or loaders.weights_dtype(device))
    return model, tokenizer


def backbone_tokenizer(name: str):
    """The tokenizer of causal LM ``name`` (pad token = end of sequence when it has none)."""
    from transformers import AutoTokenizer

    from workbench.models import get_spec, local_path

    spec = get_spec(name)
    if spec.role != "causal-lm":
        raise WorkbenchError(f"'{name}' is not a causal LM; experts need one as backbone")
    tokenizer = AutoTokenizer.from_pretrained(local_path(spec))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@contextlib.contextmanager
def quiet_peft():
    """Silence a transformers deprecation that PEFT triggers when it wraps a model (not ours to act on)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        yield


def encode_pairs(tokenizer, prompts: list[str], responses: list[str], *, max_length: int,
                 prefix: str | None = None) -> list[tuple[list[int], list[int]]]:
    """(input ids, labels) per pair; labels are -100 on the prompt so only the response is learned."""
    out = []
    template = getattr(tokenizer, "chat_template", None)
    for prompt, response in zip(prompts, responses):
        text = f"{prefix}\n{prompt}" if prefix else prompt
        if template:
            head = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                                 tokenize=False)
            head_ids = tokenizer.encode(head, add_special_tokens=False)
        else:
            head_ids = tokenizer.encode(text + "\n", add_special_tokens=True)
        tail_ids = tokenizer.encode(response, add_special_tokens=False) + [tokenizer.eos_token_id]
        ids = (head_ids + tail_ids)[:max_length]
        labels = ([-100] * len(head_ids) + tail_ids)[:max_length]
        if all(label == -100 for label in labels):
            raise WorkbenchError(f"a prompt of {len(head_ids)} tokens leaves no room for its response within "
                                 f"max_length {max_length}")
        out.append((ids, labels))
    return out


class PairCollator:
    """Pads a batch of ``{"input_ids", "labels"}`` rows on the right: ids with ``pad_id``, labels with -100 (so
    padding is never learned), attention mask 1 on the real tokens."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id)
        labels = torch.full((len(rows), width), -100)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[j, :n], labels[j, :n], mask[j, :n] = torch.tensor(r["input_ids"]), torch.tensor(r["labels"]), 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def use_bf16(config: ExpertConfig, device: str) -> bool:
    """bf16 autocast: as ``config.bf16`` says, or (None) on CUDA devices that support bf16; on the CPU only when
    asked for (float32 keeps the default profile's numbers)."""
    if config.bf16 is not None:
        return bool(config.bf16)
    return device.startswith("cuda") and torch.cuda.is_bf16_supported()


def trainer_options(config: ExpertConfig, device: str) -> dict:
    """The ``TrainingArguments`` the experts train with on ``device`` (``output_dir`` and ``save_steps`` aside).

    Today's loop, kept: AdamW (weight decay 0.01, torch's default), a constant learning rate, no gradient
    clipping, the config's seed for the data order and the dropout masks. Added: bf16 autocast, gradient
    accumulation and checkpointing (non-reentrant), one log entry per optimiser step (the per-step losses),
    no tqdm, no reporting, no network."""
    return {
        "per_device_train_batch_size": config.batch_size, "gradient_accumulation_steps": config.grad_accum,
        "num_train_epochs": config.epochs, "learning_rate": config.lr, "weight_decay": 0.01,
        "lr_scheduler_type": "constant", "warmup_steps": 0, "max_grad_norm": 0.0,
        "bf16": use_bf16(config, device), "activation_checkpointing": config.grad_checkpointing,
        "activation_checkpointing_kwargs": {"use_reentrant": False} if config.grad_checkpointing else None,
        "seed": config.seed, "data_seed": config.seed, "use_cpu": device == "cpu",
        "logging_strategy": "steps", "logging_steps": 1, "save_strategy": "steps", "save_total_limit": 1,
        "report_to": "none", "disable_tqdm": True, "remove_unused_columns": False, "label_names": ["labels"],
        "dataloader_num_workers": 0, "dataloader_pin_memory": device.startswith("cuda"),
    }


def _no_final_checkpoint():
    from transformers import TrainerCallback

    class NoFinalCheckpoint(TrainerCallback):
        """No checkpoint after an axis' last step: ``train_experts`` saves the finished adapter and its losses
        right away (``<work>/done/<axis>``), and a full checkpoint (optimiser state: twice the adapter) is wasted
        writing there."""

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps:
                control.should_save = False

    return NoFinalCheckpoint()


def _axis_trainer(peft_model, axis: str, pairs, config: ExpertConfig, device: str, work: Path, save_steps: int,
                  pad_id: int, callbacks: list):
    """A ``Trainer`` for one axis: only ``axis``' LoRA parameters in the optimiser; checkpoints hold only that
    adapter (``<checkpoint>/<axis>/``) plus the optimiser, scheduler, RNG and trainer state."""
    from peft import set_peft_model_state_dict
    from peft.utils import load_peft_weights
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    class AxisTrainer(Trainer):
        def _save(self, output_dir=None, state_dict=None):
            self.model.save_pretrained(output_dir or self.args.output_dir, selected_adapters=[axis],
                                       safe_serialization=True)

        def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
            weights = load_peft_weights(str(Path(resume_from_checkpoint) / axis), device=str(device))
            set_peft_model_state_dict(model or self.model, weights, adapter_name=axis)

    params = [p for n, p in peft_model.named_parameters() if p.requires_grad and f".{axis}." in n]
    if not params:
        raise WorkbenchError(f"no trainable LoRA parameters for axis '{axis}'")
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.01)
    args = TrainingArguments(output_dir=str(work / axis), save_steps=save_steps, **trainer_options(config, device))
    dataset = [{"input_ids": ids, "labels": labels} for ids, labels in pairs]
    trainer = AxisTrainer(model=peft_model, args=args, train_dataset=dataset, data_collator=PairCollator(pad_id),
                          optimizers=(opt, None), callbacks=[_no_final_checkpoint(), *callbacks])
    trainer.remove_callback(PrinterCallback)        # our progress callback reports the steps
    return trainer


def train_experts(backbone: str, data, config: ExpertConfig, out: str | Path, *,
                  progress: Callable[[float, str], None] | None = None, device: str | None = None,
                  work: str | Path | None = None, resume: bool = False, save_steps: int = 50) -> dict:
    """Train one LoRA adapter per axis of ``config.axes`` on ``data`` (``workbench.experts.data`` layout, train
    rows) and save them under ``out/<axis>/``; returns ``{axis: [loss per optimiser step]}``.

    The backbone is ``fresh_backbone(backbone, device)`` (see the module doc for devices and dtypes). Checkpoints
    (every ``save_steps`` optimiser steps; a finished axis as its adapter and losses) go to ``work`` (default
    ``out/.checkpoints``); with ``resume`` a run continues from them — finished axes are reloaded, the interrupted
    one resumes from its last checkpoint with its optimiser, RNG and data position — and the work folder is
    removed once all is saved. A second process training into the same ``work`` at the same time trains in a
    private folder instead (``_claim``)."""
    from workbench.profiles import pick_device

    train = data[data["split"] == "train"] if "split" in data.columns else data
    missing = [a for a in config.axes if not (train["axis"] == a).any()]
    if missing:
        raise WorkbenchError(f"no training rows for axis/axes {', '.join(missing)}")
    if config.grad_accum < 1:
        raise WorkbenchError("grad_accum must be at least 1")
    out = Path(out)
    device = pick_device(device)
    with _claim(Path(work) if work is not None else out / ".checkpoints") as (work, owned):
        _prepare_work(work, {"backbone": backbone, "config": asdict(config), "rows": _rows_key(train, config.axes)},
                      resume and owned)
        return _train_axes(backbone, train, config, out, device=device, work=work, progress=progress,
                           resume=resume and owned, save_steps=save_steps)


def _train_axes(backbone: str, train, config: ExpertConfig, out: Path, *, device: str, work: Path, progress,
                resume: bool, save_steps: int) -> dict:
    """``train_experts``' work, in a prepared work folder this process owns."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from peft.utils import load_peft_weights

    torch.manual_seed(config.seed)
    model, tokenizer = fresh_backbone(backbone, device)
    lora = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=list(config.target_modules), task_type="CAUSAL_LM")
    with quiet_peft():
        peft_model = get_peft_model(model, lora, adapter_name=config.axes[0])
        for axis in config.axes[1:]:
            peft_model.add_adapter(axis, lora)
    if config.grad_checkpointing:
        peft_model.enable_input_require_grads()   # frozen embeddings: checkpointed blocks need a grad-carrying input
    losses: dict[str, list[float]] = {}
    for a, axis in enumerate(config.axes):
        done = work / "done" / axis
        if resume and (done / "losses.json").is_file():
            set_peft_model_state_dict(peft_model, load_peft_weights(str(done), device=str(device)),
                                      adapter_name=axis)
            losses[axis] = json.loads((done / "losses.json").read_text())
            continue
        peft_model.set_adapter(axis)              # only this adapter is trainable now
        rows = train[train["axis"] == axis]
        pairs = encode_pairs(tokenizer, rows["prompt"].tolist(), rows["response"].tolist(),
                             max_length=config.max_length, prefix=config.prefix)
        trainer = _axis_trainer(peft_model, axis, pairs, config, device, work, save_steps, tokenizer.pad_token_id,
                                [_progress_callback(progress, a, len(config.axes), axis)] if progress else [])
        last = last_checkpoint(work / axis) if resume else None
        with quiet_peft():
            trainer.train(resume_from_checkpoint=last)
        losses[axis] = [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]
        peft_model.save_pretrained(work / "done", selected_adapters=[axis], safe_serialization=True)
        write_json(losses[axis], done / "losses.json")
        shutil.rmtree(work / axis, ignore_errors=True)
        del trainer
    peft_model.eval()
    out.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(out, selected_adapters=list(config.axes), safe_serialization=True)
    (out / "README.md").unlink(missing_ok=True)        # PEFT's model card names local paths; experts.json says it all
    write_json({"backbone": backbone, "config": asdict(config), "losses": losses}, out / "experts.json")
    shutil.rmtree(work, ignore_errors=True)
    del peft_model, model
    _release(device)
    return losses


def _rows_key(train, axes) -> str:
    """A digest of the training rows of ``axes`` (what a resumed run must train on, like the run it resumes)."""
    from workbench.io import config_key

    part = train[train["axis"].isin(list(axes))]
    return config_key([part["axis"].tolist(), part["prompt"].tolist(), part["response"].tolist()])


@contextlib.contextmanager
def _claim(work: Path):
    """``(work, True)`` while this process holds ``work``'s lock (``<work>.lock`` beside it, an exclusive
    ``flock``); when another process is training there (two builders of the same mixture at once), a private
    sibling folder instead, ``(private, False)``: no resuming from checkpoints someone else is writing. Concurrent
    trainings stay independent, as they were when each trained only in its own temporary folder."""
    import fcntl
    import uuid

    work.parent.mkdir(parents=True, exist_ok=True)
    lock_path = work.with_name(work.name + ".lock")
    lock = open(lock_path, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        private = work.with_name(f"{work.name}.{uuid.uuid4().hex[:8]}")
        try:
            yield private, False
        finally:
            shutil.rmtree(private, ignore_errors=True)
        return
    try:
        yield work, True
    finally:
        if not work.exists():          # finished: nothing left to resume, so no lock file either
            lock_path.unlink(missing_ok=True)
        lock.close()


def _prepare_work(work: Path, identity: dict, resume: bool) -> None:
    """Start ``work`` afresh (no ``resume``), or check that its checkpoints come from this very training."""
    from workbench.io import config_key

    stamp, key = work / "training.json", config_key(identity)
    if resume and stamp.is_file():
        if json.loads(stamp.read_text()).get("key") != key:
            raise WorkbenchError(f"{work}: its checkpoints are from another training (backbone, settings or rows "
                                 "differ); remove the folder or train without resume")
        return
    if work.exists():
        shutil.rmtree(work)
    write_json({"key": key, **identity}, stamp)


def last_checkpoint(folder: Path) -> str | None:
    """The Trainer checkpoint (``checkpoint-<step>``) with the highest step in ``folder`` that holds its trainer
    state (a checkpoint cut short while being written has none), or None."""
    steps = []
    for path in Path(folder).glob("checkpoint-*") if Path(folder).is_dir() else []:
        step = path.name.split("-", 1)[1]
        if step.isdigit() and (path / "trainer_state.json").is_file():
            steps.append((int(step), path))
    return str(max(steps)[1]) if steps else None


def _release(device: str) -> None:
    """On a GPU, free what the Trainers held (the accelerator keeps references in cycles) before the caller loads
    the next backbone: two 7B copies at once is memory better left to generation."""
    import gc

    if device.startswith("cuda"):
        gc.collect()
        torch.cuda.empty_cache()


def _progress_callback(progress: Callable[[float, str], None], index: int, n_axes: int, axis: str):
    """A ``TrainerCallback`` reporting each optimiser step of axis ``index`` (of ``n_axes``) to ``progress`` as
    (overall fraction, "<axis>: step s/S, loss L")."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                total = max(state.max_steps, 1)
                progress((index + state.global_step / total) / n_axes,
                         f"{axis}: step {state.global_step}/{total}, loss {logs['loss']:.3f}")

    return Progress()
