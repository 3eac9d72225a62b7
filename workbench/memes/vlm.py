"""A small vision-language meme classifier (P5 CROSS-ALIGN+ with an LM inside): image side → trained projector →
soft tokens in a causal LM's input, the meme text (and, as an option, retrieved knowledge triples) in the prompt,
LoRA inside the LM as an option, the label read from the LM's likelihood of each class name.

The paper adds knowledge and LoRA to large vision-language models; its models and prompts are not public, so the
design is ours [ours], in the LLaVA manner and on the pieces of ``llm.soft_tokens`` (shared with P6's
``deepfake.soft_prompt``):

* **image** — the profile's image side (``memes.sides``: the tagger CNN on the default profile) embeds the picture;
  a ``Projector`` maps the embedding to ``n_soft`` soft tokens at the norm of real tokens.
* **prompt** — the chat-formatted instruction ending in "Image: ", the soft tokens, then "Text: …", with
  ``+knowledge`` "Knowledge: head | relation | tail; …" (the ``top_triples`` best triples of ``memes.knowledge``,
  retrieved from the text and the image tags), and the question ending in "Answer:".
* **label** — softmax over log P(" CLASS" | prompt) of the class names (summed over each name's tokens) plus a
  trained per-class offset [ours, in the spirit of contextual calibration]: class names differ in length and
  prior, and the offset takes that constant off the soft tokens' work.
* **training** — cross-entropy on that readout, AdamW; the projector always, with ``+lora`` also LoRA adapters
  (PEFT, ``lora_targets`` of every layer) inside a private copy of the LM; the LM's own weights stay frozen. A
  stratified dev split is carved from the training rows (``memes.train._stratified_dev``) and the epoch with the
  best dev macro-F1 is kept; nothing is chosen on the rows results are reported on.
* **explanation** — the same LM (with its LoRA, reading the same soft tokens and prompt) writes greedily after
  "Answer: LABEL. Reason:", a sentence asked to name the picture, the deciding words and the knowledge. Beside it the
  cascade's measured evidence (``memes.explain.evidence``: tags, occlusion's decisive words, the triples reached
  from them). ``explanation_check`` measures whether the explanation cites that evidence, beside copies of the
  prompt counted the same way [ours] (the meme text; the text and the +knowledge prompt's triples).

The grid ``VLM_SETTINGS`` — ``vlm`` (base), ``vlm+knowledge``, ``vlm+lora`` (LoRA without knowledge) and
``vlm+knowledge+lora`` — separates the two effects the older head-model ablation confounds. ``run_vlm_grid``
trains and scores it beside the head models (``memes.ablation``) as baseline rows. Profiles: the default profile's
LM is SmolLM2-135M-Instruct (the ``meme_explainer`` role) over the tagger CNN; the ``paper`` profile's is LLaVA-style:
its CLIP ViT-L/14 image side (the ``meme_vl`` role) → the trained projector → Mistral-7B-Instruct-v0.3, the vision
tower and LM of LLaVA-1.6-Mistral-7B [ours: the projector is trained on the memes' train split only, with no
image–caption pretraining] (``vlm_lm_name``).

Storage: a folder with ``vlm.json`` (config, classes, LM, image side, training info), ``projector.safetensors``,
``lora.safetensors`` (the adapters' tensors, ``+lora`` only) and the tagger's weights, written atomically; no
pickle. Used by the meme CLI (``meme eval --vlm``), ``memes.artifacts`` (the ``meme_vlm`` build), the P5 notebook.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.llm.soft_tokens import (Projector, answer_logprobs, embedding_scale, encode_answers, frozen,
                                       inputs_embeds, lm_threads)
from workbench.memes.model import MemeModel, prepare

VLM_SETTINGS = ("vlm", "vlm+knowledge", "vlm+lora", "vlm+knowledge+lora")
MARK = "<<IMAGE>>"
INSTRUCTION = ("You classify memes as {classes}. Abusive memes attack a group of people for who they are; satire "
               "mocks organisations, institutions or situations; benign memes do neither. The meme's picture is "
               "encoded after \"Image:\".")
QUESTION = "Which class is the meme? Answer with one word."


@dataclass(frozen=True)
class VLMConfig:
    setting: str = "vlm+knowledge+lora"
    n_soft: int = 4                # soft tokens
    hidden: int = 256              # projector's hidden width
    epochs: int = 2
    train_per_class: int | None = 50   # [ours] a seeded stratified subsample of the training rows (None: all): a
    #                                    CPU pays seconds per meme and epoch, so the default grid trains on 150 memes
    lr: float = 2e-3
    lora_lr: float = 5e-4
    lora_r: int = 8
    lora_alpha: int = 16
    lora_targets: tuple = ("q_proj", "v_proj")
    top_triples: int = 3           # triples in the prompt (short prompts: the CPU pays per token)
    max_words: int = 48            # the longest meme text the VLM takes
    batch_size: int = 8
    dev_fraction: float = 0.15
    explain_tokens: int = 32
    seed: int = 0

    def __post_init__(self):
        if self.setting not in VLM_SETTINGS:
            raise WorkbenchError(f"unknown VLM setting '{self.setting}'; choose from {', '.join(VLM_SETTINGS)}")
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))

    @property
    def uses_knowledge(self) -> bool:
        return "knowledge" in self.setting

    @property
    def uses_lora(self) -> bool:
        return self.setting.endswith("lora")

    def key(self) -> str:
        from workbench.io import config_key

        return config_key({k: v for k, v in asdict(self).items() if k != "setting"} | {"s": self.setting})


SMOKE_VLM = dict(n_soft=2, hidden=64, epochs=2, batch_size=8, explain_tokens=16, train_per_class=None)


def vlm_lm_name(profile: str | None = None, *, check: bool = False) -> str:
    """The LM the VLM runs on: the profile's ``meme_explainer`` — SmolLM2-135M-Instruct on the default profile;
    on the ``paper`` profile Mistral-7B-Instruct-v0.3, which with the profile's CLIP ViT-L/14 image side makes the
    VLM LLaVA-style (the LM and vision tower of LLaVA-1.6-Mistral-7B; the projector is ours, trained on the memes
    only). ``check``: a Hugging Face model missing from the local cache raises the loader's one line (which model,
    how to fetch it) now, before anything is trained."""
    from workbench.profiles import get_profile

    name = get_profile(profile).model_for("meme_explainer")
    if check:
        from workbench.models import get_spec
        from workbench.models.sources import local_path

        spec = get_spec(name)
        if spec.source_kind == "hf":
            local_path(spec)
    return name


# ------------------------------------------------------------------------------------------------ prompt


def _row_text(text: str, triples, uses_knowledge: bool) -> str:
    from workbench.memes.knowledge import serialize

    knowledge = serialize(triples) if uses_knowledge else ""
    return (f"\nText: {' '.join(str(text).split())}" + (f"\nKnowledge: {knowledge}" if knowledge else "")
            + f"\n\n{QUESTION}")


def prompt_ids(lm, classes, rows: list[str]) -> tuple[list[int], list[list[int]]]:
    """(prefix ids up to the soft tokens, one suffix id list per row ending in "Answer:")."""
    from workbench.llm.generate import build_prompt
    from workbench.llm.scoring import _encode, encode_prompt

    head = f"{INSTRUCTION.format(classes=', '.join(classes))}\n\nImage: {MARK}"
    prefix, suffixes = None, []
    for row in rows:
        text = build_prompt(lm, head + row) + "Answer:"
        if text.count(MARK) != 1:
            raise WorkbenchError(f"{lm.name}: its chat template changes the image marker; cannot place soft tokens")
        before, after = text.split(MARK)
        prefix = prefix if prefix is not None else encode_prompt(lm, before)
        suffixes.append(_encode(lm, after))
    return prefix or [], suffixes


def with_lora(lm, config: VLMConfig, state: dict | None = None):
    """A copy of the handle whose model is a private copy of the LM with LoRA adapters (PEFT) on
    ``config.lora_targets``; ``state``: saved adapter tensors to load. The shared LM stays untouched."""
    from dataclasses import replace as dc_replace

    from peft import LoraConfig, get_peft_model

    targets = [t for t in config.lora_targets if any(n.endswith(t) for n, _ in lm.model.named_modules())]
    if not targets:
        raise WorkbenchError(f"{lm.name} has none of the LoRA target modules {', '.join(config.lora_targets)}")
    peft = get_peft_model(copy.deepcopy(lm.model), LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                                                              lora_dropout=0.0, target_modules=targets, bias="none"))
    model = peft.base_model.model          # the transformers model, its target layers now carrying the adapters
    if state is not None:
        missing = [k for k in state if k not in dict(model.named_parameters())]
        if missing:
            raise WorkbenchError(f"saved LoRA tensors do not fit {lm.name} (e.g. {missing[0]})")
        model.load_state_dict(state, strict=False)
    return dc_replace(lm, model=model.eval())


def lora_state(lm) -> dict:
    return {k: v.detach().cpu().clone() for k, v in lm.model.named_parameters() if "lora_" in k}


# ------------------------------------------------------------------------------------------------- model


@dataclass
class MemeVLM:
    """A trained VLM: ``prepare`` / ``probabilities`` / ``predict`` as ``memes.model.MemeModel`` has them (so that
    ``memes.ablation.evaluate_models`` scores both), ``rationales`` for the explanation."""
    config: VLMConfig
    classes: list
    image_side: object
    lm: object                     # the CausalLM handle (with LoRA: a private copy)
    projector: Projector
    knowledge: object
    bias: torch.Tensor | None = None  # [C] the per-class offset added to the class names' log-likelihoods
    profile: str = "default"
    info: dict = field(default_factory=dict)

    # the occlusion ranking and the per-meme dicts are the head model's, read through prepare/probabilities
    predict = MemeModel.predict
    word_importance = MemeModel.word_importance

    @property
    def models(self) -> list[str]:
        return [self.image_side.name, self.lm.name] + (
            [f"LoRA r={self.config.lora_r} inside {self.lm.name}"] if self.config.uses_lora else [])

    def prepare(self, images, texts):
        """``memes.model.prepare`` after refusing what the VLM cannot take (one line each)."""
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str) or not t.strip():
                raise WorkbenchError(f"meme {i}: the text is empty; the VLM reads the meme's text")
            if len(t.split()) > self.config.max_words:
                raise WorkbenchError(f"meme {i}: the text has {len(t.split())} words; the VLM reads at most "
                                     f"{self.config.max_words}")
        for i, im in enumerate(images):
            if isinstance(im, np.ndarray) and (im.ndim != 3 or im.shape[2] != 3 or min(im.shape[:2]) < 8):
                raise WorkbenchError(f"meme {i}: the VLM reads RGB images (height × width × 3, at least 8 pixels "
                                     f"a side); got an array of shape {im.shape}")
        prep = prepare(self.image_side, self.knowledge, list(images), texts, self.config)
        if prep.image_emb.shape[1] != self.projector.net[0].in_features:
            raise WorkbenchError(f"the image side gives {prep.image_emb.shape[1]} features; the VLM's projector "
                                 f"reads {self.projector.net[0].in_features}")
        return prep

    def _inputs(self, prep, idx, tails=None):
        device = self.lm.model.get_input_embeddings().weight.device
        soft = self.projector.to(device)(torch.as_tensor(prep.image_emb[idx], device=device))  # [b, n_soft, d]
        rows = [_row_text(prep.texts[i], prep.triples[i], self.config.uses_knowledge) for i in idx]
        prefix, suffixes = prompt_ids(self.lm, self.classes, rows)
        if tails is not None:
            suffixes = [s + t for s, t in zip(suffixes, tails)]
        return inputs_embeds(self.lm, soft, prefix, suffixes)

    def logprobs(self, prep, idx) -> torch.Tensor:
        """[b, C] log P(" CLASS" | prompt) + the class offset, rows ``idx`` (differentiable)."""
        embeds, mask = self._inputs(prep, idx)
        lp = answer_logprobs(self.lm, embeds, encode_answers(self.lm, [f" {c}" for c in self.classes]), mask)
        return lp if self.bias is None else lp + self.bias.to(lp.device)

    @torch.inference_mode()
    def probabilities(self, prep) -> np.ndarray:
        """[N, C] softmax over the class names' log-likelihoods."""
        self.projector.eval()
        out = []
        with lm_threads(self.lm):
            for s in range(0, len(prep.texts), 16):
                out.append(torch.softmax(self.logprobs(prep, list(range(s, min(s + 16, len(prep.texts))))), 1)
                           .cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)))

    @torch.inference_mode()
    def rationales(self, images, texts: list[str], labels: list[str]) -> list[str]:
        """The LM's explanation of each meme's label, greedy, from its own soft tokens and prompt."""
        prep = self.prepare(images, texts)
        tok = self.lm.tokenizer
        ask = " the picture, the deciding words" + (" and the knowledge" if self.config.uses_knowledge else "")
        out = []
        with lm_threads(self.lm):
            for i, label in enumerate(labels):
                tail = tok.encode(f" {label}. Reason (name{ask}):", add_special_tokens=False)
                embeds, mask = self._inputs(prep, [i], [tail])
                new = self.lm.model.generate(
                    inputs_embeds=embeds, attention_mask=mask, max_new_tokens=self.config.explain_tokens,
                    do_sample=False, temperature=None, top_p=None, top_k=None,
                    pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
                out.append(tok.decode(new[0], skip_special_tokens=True).strip())
        return out

    # ------------------------------------------------------------------------------------------ saving
    def save(self, folder) -> Path:
        from workbench.io import atomic_dir, save_weights

        folder = Path(folder)
        with atomic_dir(folder) as tmp:
            state = {**self.projector.state_dict(), "class_bias": self._bias().detach().cpu()}
            save_weights(tmp, "projector", state,
                         {"in_dim": self.projector.net[0].in_features, "n_soft": self.projector.n_soft,
                          "d_model": self.projector.d_model, "hidden": self.projector.net[0].out_features})
            if self.config.uses_lora:
                save_weights(tmp, "lora", lora_state(self.lm), {"lm": self.lm.name})
            if hasattr(self.image_side, "save"):
                self.image_side.save(tmp)
            meta = {"config": asdict(self.config), "classes": self.classes, "profile": self.profile,
                    "lm": self.lm.name, "image_side": self.image_side.name, "models": self.models, "info": self.info}
            (tmp / "vlm.json").write_text(json.dumps(meta, indent=2))
        return folder

    @classmethod
    def load(cls, folder, *, lm=None, image_side=None, knowledge=None) -> "MemeVLM":
        """A saved VLM; ``lm`` (default: the LM it names, from the zoo) must be that LM."""
        from workbench.io import load_weights
        from workbench.memes.knowledge import default_knowledge
        from workbench.memes.vision import TaggerImageSide
        from workbench.models import load

        folder = Path(folder)
        if not (folder / "vlm.json").is_file():
            raise WorkbenchError(f"{folder} is not a meme VLM folder (no vlm.json)")
        meta = json.loads((folder / "vlm.json").read_text())
        config = VLMConfig(**meta["config"])
        lm = lm if lm is not None else load(meta["lm"])
        if lm.name != meta["lm"]:
            raise WorkbenchError(f"{folder}: this VLM was trained on the LM '{meta['lm']}', not '{lm.name}'")
        state, dims = load_weights(folder, "projector")
        d_model = int(lm.model.get_input_embeddings().weight.shape[1])
        if d_model != dims["d_model"]:
            raise WorkbenchError(f"{folder}: the projector writes {dims['d_model']}-wide soft tokens, "
                                 f"{lm.name} reads {d_model}")
        projector = Projector(dims["in_dim"], dims["n_soft"], d_model, dims["hidden"], float(state["scale"]))
        bias = state.pop("class_bias")
        projector.load_state_dict(state)
        if config.uses_lora:
            lm = with_lora(lm, config, load_weights(folder, "lora")[0])
        image_side = image_side if image_side is not None else TaggerImageSide.load(folder)
        return cls(config, meta["classes"], image_side, lm, projector.eval(), knowledge or default_knowledge(),
                   bias, profile=meta["profile"], info=meta.get("info", {}))

    def _bias(self) -> torch.Tensor:
        return self.bias if self.bias is not None else torch.zeros(len(self.classes))


# ---------------------------------------------------------------------------------------------- training


def train_vlm(images, texts: list[str], labels: list[str], classes, *, config: VLMConfig, image_side, lm,
              knowledge=None, profile: str = "default", progress=None) -> MemeVLM:
    """Train one VLM setting on labelled memes (module doc); the epoch with the best dev macro-F1 is kept."""
    from workbench.media.contrastive import minibatches
    from workbench.memes.knowledge import default_knowledge
    from workbench.memes.train import _macro_f1, _stratified_dev, label_index

    report = progress or (lambda f, m: None)
    classes = list(classes)
    y = label_index(labels, classes)
    torch.manual_seed(config.seed)
    run_lm = with_lora(lm, config) if config.uses_lora else lm
    table = run_lm.model.get_input_embeddings()
    vlm = MemeVLM(config, classes, image_side, run_lm, Projector(1, 1, 1, 1, 1.0), knowledge or default_knowledge(),
                  profile=profile)
    report(0.0, f"{config.setting}: image features and knowledge")
    prep = prepare(image_side, vlm.knowledge, list(images), list(texts), config)
    vlm.projector = Projector(prep.image_emb.shape[1], config.n_soft, table.weight.shape[1], config.hidden,
                              embedding_scale(run_lm)).to(table.weight.device)
    # the offset starts at minus the class names' mean log-likelihood over (up to 64) training rows, so that
    # training starts from balanced classes and the soft tokens learn what tells them apart
    with torch.no_grad(), lm_threads(run_lm):
        start = vlm.logprobs(prep, np.flatnonzero(~_stratified_dev(y, config.dev_fraction, config.seed))[:64]
                             .tolist()).mean(0)
    vlm.bias = nn.Parameter(-start.detach().float())
    dev = _stratified_dev(y, config.dev_fraction, config.seed)
    train_idx, dev_idx = np.flatnonzero(~dev), np.flatnonzero(dev)
    groups = [{"params": [*vlm.projector.parameters(), vlm.bias], "lr": config.lr}]
    lora = [p for n, p in run_lm.model.named_parameters() if "lora_" in n] if config.uses_lora else []
    if lora:
        groups.append({"params": lora, "lr": config.lora_lr})
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    gen = torch.Generator().manual_seed(config.seed)
    target = torch.as_tensor(y, device=table.weight.device)
    history, best = [], (-1.0, None, None, None)
    was_training = run_lm.model.training
    run_lm.model.eval()                    # no dropout in the LM; only the projector and adapters learn
    with frozen(run_lm), lm_threads(run_lm):
        for p in lora:
            p.requires_grad_(True)
        for epoch in range(config.epochs):
            vlm.projector.train()
            total = 0.0
            for idx in minibatches(len(train_idx), config.batch_size, gen):
                rows = train_idx[idx.numpy()].tolist()
                loss = nn.functional.cross_entropy(vlm.logprobs(prep, rows), target[rows])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(rows)
            f1 = float("nan")
            if len(dev_idx):
                sub = _subset(prep, dev_idx)
                f1 = _macro_f1(y[dev_idx], vlm.probabilities(sub).argmax(1), len(classes))
            history.append({"epoch": epoch + 1, "loss": total / max(len(train_idx), 1), "dev_macro_f1": f1})
            if best[1] is None or (not np.isnan(f1) and f1 > best[0]):
                best = (f1, copy.deepcopy(vlm.projector.state_dict()), lora_state(run_lm) if lora else None,
                        vlm.bias.detach().clone())
            report((epoch + 1) / config.epochs, f"{config.setting} epoch {epoch + 1}/{config.epochs}: loss "
                                                f"{history[-1]['loss']:.3f}, dev macro-F1 {f1:.3f}")
    run_lm.model.train(was_training)
    vlm.projector.load_state_dict(best[1])
    vlm.bias = best[3].cpu()
    if best[2] is not None:
        run_lm.model.load_state_dict(best[2], strict=False)
    vlm.projector = vlm.projector.cpu().eval() if str(table.weight.device) == "cpu" else vlm.projector.eval()
    vlm.info = {"train_rows": int(len(train_idx)), "dev_rows": int(len(dev_idx)), "best_dev_macro_f1": best[0],
                "history": history, "lm": lm.name}
    return vlm


def _subset(prep, idx):
    from workbench.memes.model import Prepared

    idx = list(idx)
    return Prepared(prep.image_emb[idx], prep.tag_probs[idx], [prep.tags[i] for i in idx],
                    [prep.triples[i] for i in idx], [prep.inputs[i] for i in idx], [prep.texts[i] for i in idx],
                    [prep.knowledge[i] for i in idx])


def train_vlms(frame: pd.DataFrame, classes, *, settings=VLM_SETTINGS, config: VLMConfig | None = None,
               image_side, lm, knowledge=None, profile: str = "default", progress=None) -> dict:
    """One trained ``MemeVLM`` per setting on the labelled rows of ``frame`` (same rows, image side, LM, seed)."""
    report = progress or (lambda f, m: None)
    config = config or VLMConfig()
    rows = frame[frame["label"].notna()]
    if rows.empty:
        raise WorkbenchError("no labelled rows to train the VLM on")
    rows = subsample(rows, config.train_per_class, config.seed)
    return {s: train_vlm(rows["image"].tolist(), rows["text"].tolist(), rows["label"].tolist(), classes,
                         config=replace(config, setting=s), image_side=image_side, lm=lm, knowledge=knowledge,
                         profile=profile, progress=lambda f, m, i=i: report((i + f) / len(settings), m))
            for i, s in enumerate(settings)}


def subsample(rows: pd.DataFrame, per_class: int | None, seed: int) -> pd.DataFrame:
    """At most ``per_class`` rows of each label, drawn with ``seed`` (every row of a smaller class; all rows when
    ``per_class`` is None), in their original order."""
    if per_class is None:
        return rows
    if per_class < 1:
        raise WorkbenchError(f"train_per_class must be at least 1 (got {per_class})")
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(rows), dtype=bool)
    labels = rows["label"].to_numpy()
    for label in sorted(set(labels)):
        where = np.flatnonzero(labels == label)
        keep[where if len(where) <= per_class else rng.choice(where, per_class, replace=False)] = True
    return rows[keep]


# ------------------------------------------------------------------------------------------- explanations


def _mentions(text: str, phrase: str) -> bool:
    phrase = str(phrase).lower().strip(" .,!?:;'\"")
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text.lower()) is not None


COPY_SOURCES = ("copy: meme text", "copy: text + triples")


def cites(explanation: str, words, concepts, meme_text: str) -> dict:
    """The explanation check's counting for one explanation [ours]: ``cites_words`` (names ≥ 1 decisive word),
    ``cites_knowledge`` (names ≥ 1 triple concept), ``cites_evidence`` (both, each counted as met where there is
    no such evidence), ``novel_evidence`` (the decisive words and concepts that do not occur verbatim in the meme
    text) and ``cites_novel`` (names ≥ 1 of those: what a copy of the meme text cannot do)."""
    novel = [e for e in dict.fromkeys([*words, *concepts]) if not _mentions(meme_text, e)]
    cw = any(_mentions(explanation, w) for w in words)
    ck = any(_mentions(explanation, c) for c in concepts)
    return {"cites_words": cw, "cites_knowledge": ck, "cites_evidence": (cw or not words) and (ck or not concepts),
            "novel_evidence": novel, "cites_novel": any(_mentions(explanation, e) for e in novel)}


def copy_explanations(text: str, triples) -> dict:
    """The copy-the-prompt baselines [ours]: ``COPY_SOURCES`` → the "explanation" that only repeats the prompt —
    the meme text, and the meme text followed by the retrieved triples (``memes.knowledge.Triple``) that a
    +knowledge prompt holds, serialized as in that prompt."""
    from workbench.memes.knowledge import serialize

    clean = " ".join(str(text).split())
    knowledge = serialize(triples)
    return {COPY_SOURCES[0]: clean, COPY_SOURCES[1]: clean + (f"\nKnowledge: {knowledge}" if knowledge else "")}


def _shares(rows: list[dict]) -> dict:
    """The check's shares over ``rows`` (dicts of ``cites`` plus the meme's words, concepts, novel evidence)."""
    def share(key, need=None):
        part = [x[key] for x in rows if need is None or x[need]]
        return float(np.mean(part)) if part else float("nan")

    return {"word_rate": share("cites_words", "decisive_words"), "knowledge_rate": share("cites_knowledge", "concepts"),
            "novel_rate": share("cites_novel", "novel_evidence"), "evidence_rate": share("cites_evidence")}


def explanation_check(vlm: MemeVLM, frame: pd.DataFrame, *, limit: int = 24) -> dict:
    """Does the explanation cite the evidence that decided the label? [ours] For up to ``limit`` memes of
    ``frame`` (its first rows): the VLM's label, its explanation (``rationales``) and the cascade's evidence
    (``memes.explain.evidence``: the decisive words — occlusion drops > 0.01, top two — and the knowledge-link
    triples). Per meme ``cites``: names a decisive word, names the head or tail of a knowledge-link triple, both
    (``cites_evidence``), and names evidence absent from the meme text (``cites_novel``). Returns the shares
    (``word_rate`` over memes with decisive words, ``knowledge_rate`` over memes with triples, ``novel_rate`` over
    memes with evidence absent from their text, ``evidence_rate`` over all), the counts, the rows, and
    ``baselines``: the same shares, on the same memes and evidence, of the copy-the-prompt explanations
    (``copy_explanations``: the meme text; the text and the triples a +knowledge prompt holds — the VLM's
    ``top_triples`` retrieved from the text and the image tags, whatever the setting)."""
    from workbench.memes.explain import evidence
    from workbench.memes.vision import load_image

    rows, copies = [], {s: [] for s in COPY_SOURCES}
    for r in frame.head(limit).itertuples(index=False):
        image = load_image(r.image) if not isinstance(r.image, np.ndarray) else r.image
        pred = vlm.predict([image], [r.text])[0]
        ev = evidence(pred, vlm.word_importance(image, r.text), uses_knowledge=vlm.config.uses_knowledge)
        text = vlm.rationales([image], [r.text], [pred["label"]])[0]
        words = [w for w, _ in ev["_words"]]
        concepts = [c for t in ev["_triples"] for c in (t["head"], t["tail"])]
        found = cites(text, words, concepts, r.text)
        rows.append({"id": getattr(r, "id", ""), "text": r.text, "label": r.label, "pred": pred["label"],
                     "explanation": text, "decisive_words": words, "concepts": concepts, **found,
                     "cascade": {k: ev[k] for k in ("visual_cue", "textual_cue", "knowledge_link", "verdict")}})
        prompt = vlm.knowledge.retrieve(r.text, [t["tag"] for t in pred.get("tags", [])], top=vlm.config.top_triples)
        for source, copied in copy_explanations(r.text, prompt).items():
            copies[source].append({"decisive_words": words, "concepts": concepts,
                                   **cites(copied, words, concepts, r.text)})
    return {"setting": vlm.config.setting, "rows": len(rows), **_shares(rows),
            "with_words": sum(bool(x["decisive_words"]) for x in rows),
            "with_concepts": sum(bool(x["concepts"]) for x in rows),
            "with_novel": sum(bool(x["novel_evidence"]) for x in rows),
            "baselines": {s: _shares(part) for s, part in copies.items()}, "examples": rows}


# ------------------------------------------------------------------------------------------------- the grid


def vlm_gains(predictions: pd.DataFrame, classes, *, base: str = "vlm", n_boot: int = 1000, seed: int = 0) -> list:
    """Relative macro-F1 gain of each VLM setting over ``base`` on the same memes (paired bootstrap CI)."""
    from workbench.metrics.classification import relative_gain

    index = {c: j for j, c in enumerate(classes)}
    wide = predictions.pivot_table(index="id", columns="setting", values="pred", aggfunc="first")
    truth = predictions.drop_duplicates("id").set_index("id")["label"].reindex(wide.index)
    if base not in wide.columns:
        return []
    y = truth.map(index).to_numpy()
    out = []
    for s in VLM_SETTINGS:
        if s in wide.columns and s != base:
            g = relative_gain(y, wide[base].map(index).to_numpy(), wide[s].map(index).to_numpy(), len(classes),
                              n_boot=n_boot, seed=seed)
            out.append({"setting": s, "over": base, "relative_gain": g["relative_gain"], "lo": g["ci"][0],
                        "hi": g["ci"][1], "share_positive": g["share_positive"]})
    return out


def run_vlm_grid(vlms: dict, test: pd.DataFrame, classes, *, baselines: dict | None = None, shortcut=None,
                 explain: int = 24, n_boot: int = 1000, seed: int = 0, progress=None) -> dict:
    """The VLM grid scored on ``test`` beside the head models ``baselines`` (``memes.ablation``), with
    ``memes.ablation.evaluate_models``' metrics and flip groups, the VLM gains over ``vlm``, the shortcut baseline
    given (``memes.shortcut.shortcut_baseline``'s result) and the explanation check of each VLM setting."""
    from workbench.memes.ablation import evaluate_models

    report = progress or (lambda f, m: None)
    models = {**vlms, **(baselines or {})}
    result = evaluate_models(models, test, classes, n_boot=n_boot, seed=seed,
                             progress=lambda f, m: report(0.7 * f, m))
    result["metrics"]["kind"] = ["VLM" if s in vlms else "head (baseline)" for s in result["metrics"]["setting"]]
    result["vlm_gains"] = pd.DataFrame(vlm_gains(result["predictions"], classes, n_boot=n_boot, seed=seed))
    checks = []
    held = test[test["label"].notna()]
    for i, (s, vlm) in enumerate(vlms.items()):
        if explain:
            report(0.7 + 0.3 * i / len(vlms), f"explanations of {s}")
            checks.append(explanation_check(vlm, held, limit=explain))
    result["explanations"] = checks
    result["shortcut"] = shortcut
    report(1.0, "scored")
    return result


def grid_record(result: dict) -> dict:
    """The JSON-able part of ``run_vlm_grid``'s result (an artifact's config, ``meme eval --vlm --json``); each
    explanation check keeps its shares, counts and copy-the-prompt ``baselines`` and its first six examples."""
    from workbench.memes.shortcut import shortcut_record

    return {"metrics": result["metrics"].to_dict("records"), "vlm_gains": result["vlm_gains"].to_dict("records"),
            "flip_pairs": result.get("flips") or [], "confusion": result["confusion"], "classes": result["classes"],
            "explanations": [{k: v for k, v in c.items() if k != "examples"} | {"examples": c["examples"][:6]}
                             for c in result["explanations"]],
            "shortcut": shortcut_record(result["shortcut"]) if result.get("shortcut") else {}}


NOT_IN_BUILD = "not in this build"
CHECK_COLUMNS = {"word_rate": "names a decisive word", "knowledge_rate": "names a triple's concept",
                 "novel_rate": "names evidence not in the meme text", "evidence_rate": "cites the evidence [ours]"}


def grid_tables(record: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the headline table of a ``grid_record`` — per VLM setting and head baseline, then the shortcut: flip groups
    and the full split with CIs, ``memes.flips.headline_table`` —, the explanation check: per VLM setting the VLM's
    own explanations, then the copy-the-prompt baselines on the same memes [ours]). A record made before the
    baselines existed gets its copy rows named "… — not in this build" with empty shares."""
    from workbench.memes.flips import headline_table

    rows = []
    for c in record.get("explanations") or []:
        counts = {"explanations": c["rows"], "memes with evidence not in the text": c.get("with_novel")}
        rows.append({"setting": c["setting"], "explanation": "VLM", **counts,
                     **{name: c.get(key, float("nan")) for key, name in CHECK_COLUMNS.items()}})
        baselines = c.get("baselines") or {}
        for source in COPY_SOURCES:
            shares = baselines.get(source) or {}
            rows.append({"setting": c["setting"], "explanation": source if shares else f"{source} — {NOT_IN_BUILD}",
                         **counts, **{name: shares.get(key, float("nan")) for key, name in CHECK_COLUMNS.items()}})
    return headline_table(record), pd.DataFrame(rows)


def smoke_vlm_config() -> VLMConfig:
    return VLMConfig(**SMOKE_VLM)


def default_vlms(*, corpus=None, tagger=None, config: VLMConfig | None = None, settings=VLM_SETTINGS,
                 profile: str | None = None, progress=None) -> dict:
    """The VLM settings trained on the synthetic memes' train split with the profile's image side and LM, cached
    under ``models/memes/vlm-<profile>-<key>/<setting>/`` (the key covers the corpus, tagger, VLM configuration,
    LM and knowledge snapshot)."""
    from workbench.io import config_key
    from workbench.memes.ablation import folder_name, synthetic_set
    from workbench.memes.knowledge import default_knowledge
    from workbench.memes.sides import default_image_side
    from workbench.memes.synth import MemeCorpusConfig
    from workbench.memes.vision import TaggerConfig
    from workbench.models import load
    from workbench.paths import models_dir
    from workbench.profiles import active_profile

    report = progress or (lambda f, m: None)
    profile = profile or active_profile().name
    lm_name = vlm_lm_name(profile)
    corpus, tagger, config = corpus or MemeCorpusConfig(), tagger or TaggerConfig(), config or VLMConfig()
    key = config_key({"corpus": corpus.key(), "tagger": asdict(tagger), "vlm": config.key(), "lm": lm_name,
                      "knowledge": default_knowledge().fingerprint()})
    root = models_dir() / "memes" / f"vlm-{profile}-{key}"
    missing = [s for s in settings if not (root / folder_name(s) / "vlm.json").is_file()]
    lm = load(lm_name)
    if profile == "paper":                        # the profile's CLIP image side (zero-shot tags calibrated once)
        from workbench.memes.sides import sides_for_profile

        image_side = sides_for_profile(profile, corpus=corpus, tagger=tagger)[0]
    else:
        image_side = default_image_side(corpus, tagger, progress=lambda f, m: report(0.1 * f, m))
    if missing:
        frame = synthetic_set(corpus).frame
        trained = train_vlms(frame[frame["split"] == "train"], ("benign", "satire", "abusive"), settings=missing,
                             config=config, image_side=image_side, lm=lm, profile=profile,
                             progress=lambda f, m: report(0.1 + 0.9 * f, m))
        for s, vlm in trained.items():
            vlm.info["data"] = f"synthetic memes (train split, corpus {corpus.key()})"
            vlm.save(root / folder_name(s))
    return {s: MemeVLM.load(root / folder_name(s), lm=lm, image_side=image_side) for s in settings}


__all__ = ["COPY_SOURCES", "MemeVLM", "SMOKE_VLM", "VLMConfig", "VLM_SETTINGS", "cites", "copy_explanations",
           "default_vlms", "explanation_check", "grid_record", "grid_tables", "prompt_ids", "run_vlm_grid",
           "smoke_vlm_config", "subsample", "train_vlm", "train_vlms", "vlm_gains", "vlm_lm_name", "with_lora"]
