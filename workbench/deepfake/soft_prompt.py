"""The "LLM over embeddings" stage of ConLLM (P6): a trained projector turns the contrastively aligned embeddings
of a clip into a few soft tokens that a causal LM reads between the words of its evidence prompt.

Used by deepfake.training (``train_model`` trains the stage beside the model folder), deepfake.evaluation (the
stage beside the detector head and the score re-vote), the P6 builder and notebook.

The paper's stage 2 refines the aligned embeddings "using LLM-based reasoning"; it does not say how the LLM
reads them. Ours [ours, where the paper is silent], in the LLaVA manner:

* **features** (``aligned_features``) — every detector head's unit-norm projection (``ContrastiveDetector.project``)
  of the row's streams, concatenated in a fixed slot order (``audio:audio``, ``video:video``,
  ``audiovisual:audio``, ``audiovisual:video``, as the model has them), each slot followed by a presence flag;
  a slot the row lacks is zeros with flag 0.
* **projector** (``llm.soft_tokens.Projector``, shared with ``memes.vlm``) — a 2-layer MLP to ``n_soft``
  vectors of the LM's input-embedding width, each scaled to the mean norm of the LM's vocabulary embeddings,
  so the LM sees them at the size of real tokens.
* **prompt** — the chat-formatted instruction ending in "Evidence: ", the soft tokens, then the question ending
  in "Answer:", all given to the LM as ``inputs_embeds``. The LM is frozen.
* **verdict score** — log P(" real") − log P(" fake") after "Answer:" (an answer of several tokens: the sum of
  its tokens' log-probabilities, ``llm.readout``'s "sum" mode), higher = more bona fide, so the stage's EER is
  computed like every other stage's.
* **training** (``train_projector``) — cross-entropy on that two-way readout, AdamW, a fixed seed, a few epochs,
  on the rows the model's detectors were trained on (the model's training rows less its dev rows); the decision
  threshold is ``training.decision_threshold`` of the score on the dev rows, as for the reasoning stage. Nothing is
  chosen on evaluation rows.
* **rationale** — greedy text (``rationale_tokens``, default 32) from the same inputs after "Answer: VERDICT.".
* **storage** — ``stage_folder(model_folder, lm, config)``: a folder beside the model folder, keyed by the LM's
  name and the settings, holding ``projector.safetensors`` and ``projector.json`` (``io.save_weights``, written
  atomically); ``load_stage`` refuses another LM or another model folder with one line.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.llm.soft_tokens import (Projector, answer_logprobs, causal_lm, embedding_scale, encode_answers,
                                      frozen, inputs_embeds, lm_threads)

STAGE = "LLM over embeddings"
ANSWERS = (" real", " fake")                       # index 0 = bona fide
MARK = "<<EVIDENCE>>"
INSTRUCTION = ("You are checking whether a media file is genuine or a deepfake. Its sound and pictures were "
               "encoded by detectors trained to tell genuine clips from forgeries; the encoding follows.")
QUESTION = "Is the media file real or fake? Answer with one word."


@dataclass(frozen=True)
class SoftPromptConfig:
    n_soft: int = 4                # soft tokens
    hidden: int = 256              # projector's hidden width
    epochs: int = 6
    lr: float = 2e-3
    weight_decay: float = 0.01
    batch_size: int = 16
    seed: int = 0

    def key(self) -> str:
        from workbench.io import config_key

        return config_key(asdict(self))


# ------------------------------------------------------------------------------------------ features


def aligned_features(model, emb: dict[str, np.ndarray], cues: list[dict] | None) -> tuple[np.ndarray, list[str]]:
    """([N, D] the rows' aligned embeddings, one block per detector head plus its presence flag; the slot names)."""
    from workbench.deepfake.inputs import stream_inputs

    n = len(next(iter(emb.values())))
    blocks, slots = [], []
    for stream, det in model.detectors.items():
        inputs, ok = stream_inputs(stream, emb, cues, model.config)
        width = det.config.projection * len(det.config.modalities)
        z, flag = np.zeros((n, width), np.float32), np.zeros((n, 1), np.float32)
        if ok.any():
            with torch.inference_mode():
                zs = det.project([torch.as_tensor(x[ok], dtype=torch.float32) for x in inputs])
            z[ok], flag[ok] = torch.cat(zs, 1).numpy(), 1.0
        blocks += [z, flag]
        slots += [f"{stream}:{m}" for m in det.config.modalities]
    return np.concatenate(blocks, 1), slots


def model_fingerprint(model_folder: str | Path) -> str:
    """A hash of a model folder's ``model.json`` and ``training_rows.json``: which model a projector reads."""
    from workbench.deepfake.model import TRAINING_ROWS

    folder = Path(model_folder)
    if not (folder / "model.json").is_file():
        raise WorkbenchError(f"{folder}: not a deepfake model (no model.json)")
    h = hashlib.sha256()
    for name in ("model.json", TRAINING_ROWS):
        if (folder / name).is_file():
            h.update((folder / name).read_bytes())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------ the LM side


def _prompt_ids(lm) -> tuple[list[int], list[int]]:
    """Token ids of the chat-formatted prompt before and after the soft tokens (the suffix ends in "Answer:")."""
    from workbench.llm.generate import build_prompt
    from workbench.llm.scoring import _encode, encode_prompt

    text = build_prompt(lm, f"{INSTRUCTION}\n\nEvidence: {MARK}\n\n{QUESTION}") + "Answer:"
    if text.count(MARK) != 1:
        raise WorkbenchError(f"{lm.name}: its chat template changes the evidence marker; cannot place soft tokens")
    before, after = text.split(MARK)
    return encode_prompt(lm, before), _encode(lm, after)


def _inputs(lm, soft: torch.Tensor, prefix: list[int], suffix: list[int]) -> torch.Tensor:
    """[B, P + n_soft + S, d_model]: prompt prefix, soft tokens, question suffix (no row padded)."""
    return inputs_embeds(lm, soft, prefix, suffix)[0]


def _answer_ids(lm) -> list[list[int]]:
    return encode_answers(lm, ANSWERS)


# ------------------------------------------------------------------------------------------ the stage


class SoftPromptStage:
    """A trained projector bound to its LM: ``scores``, ``rationales``; ``meta`` says what it was trained for."""

    def __init__(self, projector: Projector, config: SoftPromptConfig, meta: dict, lm):
        self.projector, self.config, self.meta, self.lm = projector.eval(), config, meta, lm

    @property
    def threshold(self) -> float:
        return float(self.meta.get("threshold", 0.0))

    def _soft(self, x: np.ndarray) -> torch.Tensor:
        x = np.asarray(x, np.float32)
        if x.ndim != 2 or x.shape[1] != self.meta["input_dim"]:
            raise WorkbenchError(f"the projector reads {self.meta['input_dim']} features per row "
                                 f"({', '.join(self.meta.get('slots', []))}); got an array of shape {x.shape}")
        device = self.lm.model.get_input_embeddings().weight.device
        return self.projector.to(device)(torch.as_tensor(x, device=device))

    @torch.inference_mode()
    def scores(self, x: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
        """[N] log P(" real") − log P(" fake") after the soft tokens (higher = more bona fide)."""
        prefix, suffix = _prompt_ids(self.lm)
        answers = _answer_ids(self.lm)
        out = []
        with lm_threads(self.lm):
            for start in range(0, len(x), batch_size):
                lp = answer_logprobs(self.lm, _inputs(self.lm, self._soft(x[start:start + batch_size]), prefix,
                                                      suffix), answers)                             # [b, 2]
                out.append((lp[:, 0] - lp[:, 1]).cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    @torch.inference_mode()
    def rationales(self, x: np.ndarray, verdicts: list[str], *, max_new_tokens: int = 32,
                   batch_size: int = 16) -> list[str]:
        """Greedy text after "Answer: VERDICT. Because" from the same inputs, one per row (rows of one verdict
        share a length, so they are batched without padding)."""
        prefix, suffix = _prompt_ids(self.lm)
        tok = self.lm.tokenizer
        x = np.asarray(x, np.float32)
        out = [""] * len(x)
        with lm_threads(self.lm):
            for verdict in sorted(set(verdicts)):
                rows = [i for i, v in enumerate(verdicts) if v == verdict]
                tail = suffix + tok.encode(f" {verdict}. Because", add_special_tokens=False)
                for start in range(0, len(rows), batch_size):
                    idx = rows[start:start + batch_size]
                    embeds = _inputs(self.lm, self._soft(x[idx]), prefix, tail)         # [b, L, d_model]
                    new = self.lm.model.generate(
                        inputs_embeds=embeds, attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long,
                                                                        device=embeds.device),
                        max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None, top_k=None,
                        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
                    for i, text in zip(idx, tok.batch_decode(new, skip_special_tokens=True)):
                        out[i] = "Because " + text.strip()
        return out

    def check_model(self, model_folder: str | Path) -> None:
        """Refuse a model folder the projector was not trained for."""
        if model_fingerprint(model_folder) != self.meta["model_fingerprint"]:
            raise WorkbenchError(f"this LLM-over-embeddings projector was trained for the model "
                                 f"{self.meta['model_folder']}, not {model_folder}; train the stage for that model")


def train_projector(lm, x: np.ndarray, y: np.ndarray, config: SoftPromptConfig | None = None, *,
                    meta: dict | None = None, progress=None) -> SoftPromptStage:
    """Fit a projector on features ``x`` [N, D] and labels ``y`` [N] (1 = bona fide) through the frozen ``lm``."""
    from workbench.media.contrastive import minibatches

    config = config or SoftPromptConfig()
    x, y = np.asarray(x, np.float32), np.asarray(y).astype(int)
    if x.ndim != 2 or len(x) != len(y) or len(x) < 2 or set(y.tolist()) != {0, 1}:
        raise WorkbenchError(f"the projector needs [N, D] features and N labels of both classes; got {x.shape} "
                             f"features and labels {sorted(set(y.tolist()))}")
    table = lm.model.get_input_embeddings()
    device = table.weight.device
    scale = embedding_scale(lm)
    torch.manual_seed(config.seed)
    projector = Projector(x.shape[1], config.n_soft, table.weight.shape[1], config.hidden, scale).to(device)
    opt = torch.optim.AdamW(projector.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(config.seed)
    prefix, suffix = _prompt_ids(lm)
    answers = _answer_ids(lm)
    xt, target = torch.as_tensor(x, device=device), torch.as_tensor(1 - y, device=device)   # class 0 = " real"
    def step(idx: torch.Tensor) -> float:
        """One AdamW step on the rows ``idx``; their summed loss."""
        lp = answer_logprobs(lm, _inputs(lm, projector(xt[idx]), prefix, suffix), answers)         # [B, 2]
        loss = nn.functional.cross_entropy(lp, target[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach()) * len(idx)

    history = []
    was_training = lm.model.training
    lm.model.eval()
    with frozen(lm), lm_threads(lm):
        for epoch in range(config.epochs):
            history.append(sum(step(idx.to(device)) for idx in minibatches(len(y), config.batch_size, gen))
                           / len(y))
            if progress:
                progress((epoch + 1) / config.epochs, f"projector epoch {epoch + 1}: loss {history[-1]:.3f}")
    lm.model.train(was_training)
    meta = {"lm": lm.name, "input_dim": int(x.shape[1]), "n_train": int(len(y)), "loss": history,
            "stage": STAGE, **(meta or {})}
    return SoftPromptStage(projector.cpu(), config, meta, lm)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def stage_folder(model_folder: str | Path, lm_name: str, config: SoftPromptConfig | None = None) -> Path:
    """Where the stage for ``model_folder`` and ``lm_name`` lives: beside the model folder, keyed by both."""
    folder = Path(model_folder)
    return folder.parent / f"{folder.name}.soft-prompt" / f"{_safe(lm_name)}-{(config or SoftPromptConfig()).key()}"


def save_stage(stage: SoftPromptStage, folder: str | Path) -> Path:
    """``projector.safetensors`` + ``projector.json`` (settings and meta) in a folder written atomically."""
    from workbench.io import atomic_dir, save_weights

    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        save_weights(tmp, "projector", stage.projector.state_dict(),
                     {"config": asdict(stage.config), "meta": stage.meta,
                      "shape": {"n_soft": stage.projector.n_soft, "d_model": stage.projector.d_model}})
    return folder


def load_stage(folder: str | Path, lm, *, model_folder: str | Path | None = None) -> SoftPromptStage:
    """A saved stage bound to ``lm``; refuses another LM (or, given ``model_folder``, another model)."""
    from workbench.io import load_weights

    folder = Path(folder)
    state, raw = load_weights(folder, "projector")
    meta, config = raw["meta"], SoftPromptConfig(**raw["config"])
    if meta["lm"] != lm.name:
        raise WorkbenchError(f"{folder}: this LLM-over-embeddings projector was trained for the LM '{meta['lm']}', "
                             f"not '{lm.name}'; train the stage for '{lm.name}'")
    d_model = int(lm.model.get_input_embeddings().weight.shape[1])
    if d_model != raw["shape"]["d_model"]:
        raise WorkbenchError(f"{folder}: the projector writes {raw['shape']['d_model']}-wide soft tokens, "
                             f"{lm.name} reads {d_model}")
    hidden = state["net.0.weight"].shape[0]
    projector = Projector(meta["input_dim"], raw["shape"]["n_soft"], d_model, hidden, float(state["scale"]))
    projector.load_state_dict(state)
    stage = SoftPromptStage(projector, config, meta, lm)
    if model_folder is not None:
        stage.check_model(model_folder)
    return stage


def train_stage(model, frame, lm, config: SoftPromptConfig | None = None, *, progress=None) -> SoftPromptStage:
    """Train the stage for ``model`` on ``frame`` — the model's training rows (refused otherwise): the projector on
    the rows its detectors were fitted on, the threshold on its dev rows (``training.dev_rows``)."""
    from workbench.deepfake.datasets.splits import row_keys
    from workbench.deepfake.inputs import measure_cues
    from workbench.deepfake.training import decision_threshold, dev_rows

    report, lm = progress or (lambda f, m: None), causal_lm(lm)
    frame = frame.reset_index(drop=True)
    trained = model.trained_on()
    keys = row_keys(frame)
    if trained is None or set(keys) != trained:
        outside = [k for k in keys if trained is None or k not in trained]
        raise WorkbenchError(f"the LLM-over-embeddings stage trains on {model.folder}'s training rows only; "
                             + (f"{len(outside)} of the {len(keys)} rows given are not among them (e.g. {outside[0]})"
                                if outside else f"{len(trained or ())} rows were trained on, {len(keys)} given"))
    report(0.0, "aligned embeddings")
    emb = model.embed(frame)
    cues = measure_cues(frame, lip_sync=model.config.lip_sync)
    x, slots = aligned_features(model, emb, cues)
    y = frame["y"].to_numpy().astype(int)
    dev = dev_rows(frame, model.config)
    fit = ~dev if dev.any() else np.ones(len(frame), bool)
    stage = train_projector(lm, x[fit], y[fit], config, progress=lambda f, m: report(0.1 + 0.8 * f, m),
                            meta={"slots": slots, "model_folder": str(model.folder),
                                  "model_fingerprint": model_fingerprint(model.folder), "n_dev": int(dev.sum())})
    if dev.any() and len(set(y[dev])) == 2:
        value, threshold = decision_threshold(stage.scores(x[dev]), y[dev])
        stage.meta.update(threshold=threshold, dev_eer=value)
    report(1.0, "done")
    return stage


def cached_stage(model, frame, lm, config: SoftPromptConfig | None = None, *, progress=None) -> SoftPromptStage:
    """The stage for ``model`` and ``lm`` from beside the model folder, trained on ``frame`` and saved first when
    there is none (or the one there was trained for an earlier model written to the same folder)."""
    lm = causal_lm(lm)
    folder = stage_folder(model.folder, lm.name, config)
    if not (folder / "projector.json").is_file() or not _fits(folder, model):
        save_stage(train_stage(model, frame, lm, config, progress=progress), folder)
    return load_stage(folder, lm, model_folder=model.folder)


def _fits(folder: Path, model) -> bool:
    """Whether the stage saved in ``folder`` was trained for ``model``'s folder as it is now."""
    import json

    meta = json.loads((folder / "projector.json").read_text()).get("meta", {})
    return meta.get("model_fingerprint") == model_fingerprint(model.folder)


def saved_stage(model, lm) -> SoftPromptStage | None:
    """The stage saved beside ``model`` for ``lm`` (any settings; the newest when there are several), or None
    when none was trained for this model and LM."""
    lm = causal_lm(lm)
    root = stage_folder(model.folder, lm.name).parent
    found = sorted((p for p in root.glob(f"{_safe(lm.name)}-*") if (p / "projector.json").is_file()
                    and _fits(p, model)), key=lambda p: (p / "projector.json").stat().st_mtime)
    return load_stage(found[-1], lm, model_folder=model.folder) if found else None


__all__ = ["ANSWERS", "Projector", "STAGE", "SoftPromptConfig", "SoftPromptStage", "aligned_features",
           "answer_logprobs", "cached_stage", "causal_lm", "load_stage", "model_fingerprint", "save_stage", "saved_stage",
           "stage_folder", "train_projector", "train_stage"]
