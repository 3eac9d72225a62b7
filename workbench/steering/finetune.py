"""The specialised model P7 compares steering with: a fine-tuned variant of the steered backbone, or the profile's
medical LM.

MEDASSESS-X claims that steering a general model at inference time makes it as good as a specialised one. To
measure that the comparison needs a specialised model:

* on a profile with a ``medical_lm`` role (the paper profile: BioGPT, a separately pre-trained medical LM) that
  model, loaded as it is;
* elsewhere (the default profile) [ours] a LoRA SFT of the steering LM itself on the clinical *training* items —
  the same backbone, specialised by weight updates instead of steering. The adapter is trained by
  ``experts.train.train_experts`` (one "axis", ``clinical``; the response tokens only are learned; safetensors
  adapter + ``experts.json``) into ``models_dir()/clinical/<backbone>-<key>`` (``paths.rehearsal_scope``d, keyed by
  the backbone, the LoRA settings and the training ids, built once), with the training time in ``specialist.json``.

SFT rows [ours]: prompt = ``clinical.format_question(row)``, response = ``"Answer: "`` + the row's answer label
and a full stop (``"Answer: B."``, ``"Answer: Yes."``, from the answer key, so PubMedQA / MedQA rows train it as
the bundled ones do). The loss covers the response only (the prompt's labels are masked, ``experts.train``): the
cue, the answer label, the full stop and the end-of-sequence token — not a paragraph of reasoning, whose
hundreds of tokens drowned the one token that decides the answer (a 3-epoch SFT on answer + reasoning moved the
mean loss 2.31 → 2.33 and the answers not at all). The ``Answer:`` cue is the one ``medical.choose_options``
reads the chosen option after, so the fine-tune learns the very read-out the evaluation uses. Evaluation items
(dev or test) never train it.

Settings [ours, fixed a priori, not tuned on any evaluation split]: the profile's LoRA rank and targets
(``ExpertConfig.for_profile``), learning rate ``SFT_LR`` (four times the experts' 5e-4: a few dozen optimiser
steps on a short target), ``SFT_EPOCHS`` epochs (1 in smoke runs). ``specialist.json`` records the loss per
optimiser step and per epoch (first / last / min / mean), so the note and the notebook show the curve.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from workbench import WorkbenchError

AXIS = "clinical"
RESPONSE_CUE = "Answer: "
MEDICAL_ROLE = "medical_lm"
SFT_LR = 2e-3          # [ours, fixed a priori] see the module doc
SFT_EPOCHS = 3


def answer_target(row) -> str:
    """``"Answer: B."`` / ``"Answer: Yes."``: the SFT target of one clinical row, from its answer key."""
    from workbench.steering.medical import item_labels

    answer = row["answer"]
    if answer not in item_labels(row):
        raise WorkbenchError(f"item {row['id']}: answer '{answer}' is not one of {', '.join(item_labels(row))}")
    return f"{RESPONSE_CUE}{answer if row['type'] == 'mcq' else answer.capitalize()}."


def sft_rows(items):
    """The fine-tuning rows (``experts.train`` layout: id, axis, split, prompt, response) of clinical ``items``."""
    import pandas as pd

    from workbench.steering.clinical import format_question

    if len(items) == 0:
        raise WorkbenchError("no clinical training items to fine-tune on")
    items = items.reset_index(drop=True)
    return pd.DataFrame({"id": items["id"], "axis": AXIS, "split": "train",
                         "prompt": [format_question(items.iloc[i]) for i in range(len(items))],
                         "response": [answer_target(items.iloc[i]) for i in range(len(items))]})


def loss_curve(losses: list[float], epochs: int) -> list[dict]:
    """Per epoch: first, last, min and mean of the per-step training losses (steps split evenly over epochs)."""
    if not losses:
        raise WorkbenchError("no training losses to summarise")
    per = max(1, math.ceil(len(losses) / max(1, epochs)))
    chunks = [losses[i:i + per] for i in range(0, len(losses), per)]
    return [{"epoch": k + 1, "steps": len(c), "first": round(c[0], 4), "last": round(c[-1], 4),
             "min": round(min(c), 4), "mean": round(sum(c) / len(c), 4)} for k, c in enumerate(chunks)]


def specialist_config(profile_name: str, *, smoke: bool, seed: int = 0, **overrides):
    """LoRA settings of the clinical fine-tune [ours, fixed a priori]: the experts' per-profile LoRA
    (``ExpertConfig.for_profile``) with room for PubMedQA contexts, learning rate ``SFT_LR``, ``SFT_EPOCHS``
    epochs (1 in smoke runs) — a few dozen optimiser steps, sized for a CPU."""
    from workbench.experts.train import ExpertConfig

    return ExpertConfig.for_profile(profile_name, **{"axes": (AXIS,), "epochs": 1 if smoke else SFT_EPOCHS,
                                                     "lr": SFT_LR, "seed": seed, "max_length": 384, **overrides})


def train_specialist(backbone: str, items, config, *, progress: Callable[[float, str], None] | None = None,
                     device: str | None = None) -> Path:
    """The folder of a LoRA SFT of ``backbone`` on clinical ``items`` (train items only; built once per backbone,
    settings and item ids)."""
    from workbench.experts.train import train_experts
    from workbench.io import build_once, config_key, write_json
    from workbench.paths import models_dir

    if config.axes != (AXIS,):
        raise WorkbenchError(f"the clinical fine-tune trains one adapter, axes ('{AXIS}',); got {config.axes}")
    rows = sft_rows(items)
    key = config_key({"backbone": backbone, "config": asdict(config), "ids": sorted(rows["id"]),
                      "rows": [rows["prompt"].tolist(), rows["response"].tolist()]})

    def build(tmp: Path) -> None:
        start = time.perf_counter()
        losses = train_experts(backbone, rows, config, tmp, progress=progress, device=device)
        steps = len(losses[AXIS])
        write_json({"backbone": backbone, "items": len(rows), "steps": steps, "epochs": config.epochs,
                    "train_seconds": round(time.perf_counter() - start, 1), "loss_first": losses[AXIS][0],
                    "loss_last": losses[AXIS][-1], "target": "answer label only (prompt masked)",
                    "loss_per_epoch": loss_curve(losses[AXIS], config.epochs),
                    "losses": [round(x, 4) for x in losses[AXIS]]}, tmp / "specialist.json")

    return build_once(models_dir() / "clinical" / f"{backbone}-{key}", build, complete="specialist.json")


def specialist_info(folder: str | Path) -> dict:
    import json

    path = Path(folder) / "specialist.json"
    if not path.is_file():
        raise WorkbenchError(f"{folder}: not a clinical fine-tune (no specialist.json)")
    return json.loads(path.read_text())


def load_specialist(folder: str | Path, *, device: str | None = None):
    """The fine-tuned model of ``folder`` as a ``CausalLM`` (adapter merged into a fresh backbone), named
    ``<backbone>+clinical-lora``."""
    from peft import PeftModel

    from workbench.experts.train import fresh_backbone, quiet_peft
    from workbench.models import CausalLM, get_spec
    from workbench.profiles import pick_device

    info = specialist_info(folder)
    device = pick_device(device)
    model, tokenizer = fresh_backbone(info["backbone"], device)
    with quiet_peft():
        merged = PeftModel.from_pretrained(model, Path(folder) / AXIS, adapter_name=AXIS).merge_and_unload()
    spec = replace(get_spec(info["backbone"]), name=f"{info['backbone']}+{AXIS}-lora")
    return CausalLM(spec, merged.eval(), tokenizer, device)


def specialised_lm(profile, backbone: str, train_items, *, smoke: bool = False, seed: int = 0,
                   progress: Callable[[float, str], None] | None = None):
    """``(lm, info)``: the profile's medical LM (role ``medical_lm``) when it has one, else a LoRA SFT of
    ``backbone`` (the general model being steered) on ``train_items`` (module doc). ``info`` says which, for the
    artifact's config."""
    from workbench.models import load

    if MEDICAL_ROLE in profile.roles:
        name = profile.model_for(MEDICAL_ROLE)
        return load(name), {"kind": f"the profile's medical LM (role {MEDICAL_ROLE})", "model": name}
    config = specialist_config(profile.name, smoke=smoke, seed=seed)
    folder = train_specialist(backbone, train_items, config, progress=progress)
    lm = load_specialist(folder)
    return lm, {"kind": "LoRA SFT of the steering LM on the clinical train items", "model": lm.name,
                "backbone": backbone, "lora": {"r": config.r, "alpha": config.alpha, "lr": config.lr,
                                               "target_modules": list(config.target_modules)},
                **{k: v for k, v in specialist_info(folder).items() if k != "backbone"}}


@dataclass(frozen=True)
class Comparison:
    """What ``steering_vs_specialised`` made: the four-way run and the pieces it was made from."""
    run: object             # medassess.ClinicalRun (arms unsteered, steered, finetuned, finetuned_steered)
    specialised: dict       # how the specialised model was made (``specialised_lm``'s info)
    models: dict            # system (base | finetuned) → CausalLM
    vectors: dict           # system → its SteeringVector (trained on its own activations)
    pairs: int              # (consistent, inconsistent) pairs each vector was trained on


def steering_vs_specialised(profile, lm, items, train_items, *, layers_for: Callable[[int], list[int]],
                            multipliers, judge=None, seed: int = 0, smoke: bool = False, limit: int | None = None,
                            max_new_tokens: int = 48, files: dict | None = None,
                            progress: Callable[[float, str], None] | None = None) -> Comparison:
    """P7's four-way comparison: the general model ``lm`` and the specialised one (``specialised_lm``, fine-tuned
    on ``train_items``), each with a clinical vector from ``train_items``' consistent vs inconsistent answers
    (read from its own activations at ``layers_for(depth)``), compared on ``items`` by
    ``medassess.run_comparison`` (each system's layer and multiplier chosen on the dev split)."""
    from workbench.steering.clinical import pair_texts
    from workbench.steering.hooks import decoder_layers
    from workbench.steering.medassess import run_comparison
    from workbench.steering.vectors import train_vector

    report = progress or (lambda fraction, message: None)
    prompts, positives, negatives = pair_texts(train_items)
    report(0.0, f"specialised model: fine-tuning or loading ({len(train_items)} train items)")
    specialist, info = specialised_lm(profile, lm.name, train_items, smoke=smoke, seed=seed,
                                      progress=lambda f, m: report(0.2 * f, m))
    models, vectors, systems = {"base": lm, "finetuned": specialist}, {}, []
    for system, model in models.items():
        layers = layers_for(len(decoder_layers(model.model)))
        report(0.2, f"{model.name}: clinical vector from {len(prompts)} pairs at layers {layers}")
        vectors[system] = train_vector(model, prompts, positives, negatives, layers, position="answer",
                                       objective="clinical consistency")
        systems.append((system, model, vectors[system], layers))
    run = run_comparison(systems, items, multipliers=multipliers, judge=judge, seed=seed, limit=limit,
                         max_new_tokens=max_new_tokens, files=files, progress=lambda f, m: report(0.22 + 0.78 * f, m))
    return Comparison(run, info, models, vectors, len(prompts))


__all__ = ["AXIS", "Comparison", "SFT_EPOCHS", "SFT_LR", "answer_target", "load_specialist", "loss_curve",
           "sft_rows", "specialised_lm", "specialist_config", "specialist_info", "steering_vs_specialised",
           "train_specialist"]
