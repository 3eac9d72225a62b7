"""Meme explorer (P5 CROSS-ALIGN+): classify an uploaded image with its text — or a meme of the evaluation set —
with the models of the built ``meme_eval`` artifact, in any of the three settings (``none``, ``knowledge``,
``knowledge+lora``): the predicted label and class probabilities, the image tags, the retrieved knowledge triples
and the explanation cascade (visual cue → textual cue → knowledge link → verdict); and read the evaluation: the
headline — accuracy on the meaning-flip groups (every member right) beside the full held-out split, next to the
surface-feature shortcut baseline trained on the same train split — the ablation with bootstrap CIs, the
relative gains over ``none``, confusion matrices, accuracy on the flip kinds and by target type, the saved
explanations and the paper's claims beside ours (P5's rows of the claims ledger,
``workbench.claims.ledger_frame(["P5"])``; the paper's numbers from the registry); and the small vision-language
model's grid of the built ``meme_vlm`` artifact (``memes.vlm``: four settings beside the head models and the
shortcut, the gains over ``vlm``, the explanation check beside its copy-the-prompt baselines, example
explanations), or the line saying why a profile has none.

The models are the artifact's own: its corpus, tagger and model configurations name the folder under
``$WORKBENCH_HOME/models/memes/`` that ``dashboard.cache.meme_models`` loads them from (never training them: when
they are not there, the view says how to build them). The cascade's sentences come from the profile's
``meme_explainer``, or from the causal LM that session state ``memes-explainer`` names (tests use ``tiny-llama``).
Uploads are written to a temporary folder under a name derived from their content (the original suffix kept), so
reruns reuse the same file.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import streamlit as st

from dashboard import cache
from dashboard.components import built_artifact, chart, show_table
from dashboard.registry import View
from dashboard.uploads import MB, accept_upload, file_stamp, upload_input

HINT = "`workbench meme eval --data synthetic` does the same from the command line."
UPLOAD_FOLDER = "workbench-meme-uploads"
SOURCES = ("Evaluation set", "Upload an image")
DEFAULT_SETTING = "knowledge+lora"
SETTING_NOTES = {"none": "image + meme text, no background knowledge (frozen text encoder, trained head)",
                 "knowledge": "image + meme text with the retrieved triples appended (frozen text encoder)",
                 "knowledge+lora": "with knowledge, and LoRA on the text encoder trained with a contrastive loss"}
TRIPLE_COLUMNS = ("head", "relation", "tail", "source", "score", "matched")
VERDICT_STYLE = {"benign": "success", "satire": "warning", "abusive": "error"}


# ------------------------------------------------------------------------------------------------ helpers


def _decoder(limit: int):
    from workbench.media.image import load_image

    return lambda path: load_image(path, max_bytes=limit)


def handle_upload(name: str, data: bytes, limit: int):
    """Check and decode an uploaded image; (path of a temporary copy that keeps the suffix, RGB array). Refused
    (``WorkbenchError`` naming the file, nothing left written) when the suffix is not an image one, when it is
    empty or over ``limit`` bytes, or when it does not decode as an image. The file name comes from the content's
    hash, so the same upload maps to the same path."""
    from workbench.media.image import IMAGE_EXTS

    return accept_upload(name, data, limit, {"image": IMAGE_EXTS}, UPLOAD_FOLDER, check=_decoder(limit))


_stamp = file_stamp


def _explainer(meta) -> str:
    from workbench.profiles import get_profile

    return st.session_state.get("memes-explainer") or get_profile(meta.profile).model_for("meme_explainer")


def _ci(lo, hi, digits: int = 3) -> str:
    if lo is None or hi is None or any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
        return "–"
    return f"{lo:.{digits}f} – {hi:.{digits}f}"


def triples_table(triples):
    """The retrieved triples as a table: head, relation, tail, source, score, matched (best first)."""
    import pandas as pd

    table = pd.DataFrame([{c: t.get(c) for c in TRIPLE_COLUMNS} for t in triples], columns=list(TRIPLE_COLUMNS))
    return table.astype({"score": float}).round({"score": 3})


def _verdict(label: str, line: str) -> None:
    getattr(st, VERDICT_STYLE.get(label, "info"))(line)


def _printable(value) -> str:
    """A sentence without control characters (a small LM can emit them), stripped."""
    return "".join(ch for ch in str(value) if ch.isprintable() or ch == " ").strip()


def _show_cascade(explained: dict) -> None:
    """The four steps in order, each with the LLM's sentence and the measured evidence under it."""
    from workbench.memes.explain import STEPS, TITLES

    for i, step in enumerate(STEPS, 1):
        part = explained.get(step) or {}
        text, evidence = _printable(part.get("text", "")), _printable(part.get("evidence", ""))
        st.markdown(f"**{i}. {TITLES[step]}** {'→' if i < len(STEPS) else '∎'} {text or '*(no sentence)*'}")
        st.caption(f"evidence: {evidence}")
    words = explained.get("important_words") or []
    st.caption(("Written by " + explained["explainer"] if explained.get("explainer") else
                "No explainer LLM: each step repeats its evidence")
               + (" · words by occlusion drop: " + ", ".join(f"{w['word']} ({w['drop']:+.3f})" for w in words)
                  if words else ""))


# ------------------------------------------------------------------------------------------------ Classify


def _eval_memes(frame) -> dict[str, dict]:
    """Meme id → its row (the first setting's; text, image, truth, flip, target type)."""
    return {str(r["id"]): r for r in frame.drop_duplicates("id").to_dict("records")}


def _pick_eval(frame):
    """(image array, cache key, label text, evaluation row) of a meme of the evaluation set, or None."""
    from workbench import WorkbenchError

    memes = _eval_memes(frame)
    picked = st.selectbox("Meme of the evaluation set", list(memes), index=None, key="memes-eval",
                          placeholder="choose a meme",
                          format_func=lambda i: f"{i} — {memes[i]['label']} — “{memes[i]['text']}”")
    if picked is None:
        st.info("Pick a meme of the evaluation set to classify it.")
        return None
    row = memes[picked]
    path = Path(str(row["image"]))
    try:
        image = cache.image(str(path), _stamp(path) if path.is_file() else "missing")
    except WorkbenchError as exc:
        st.error(f"{exc}. The synthetic memes are made again by `workbench build P5 --force`.")
        return None
    extra = [f"flip pair ({row['flip']})" if row.get("flip") else "", f"target: {row['target_type']}"
             if row.get("target_type") else ""]
    label = f"evaluation meme **{picked}** (truly **{row['label']}**" + "".join(f", {e}" for e in extra if e) + ")"
    return image, f"eval:{picked}:{_stamp(path)}", label, row


def _pick_upload():
    from workbench.media.image import IMAGE_EXTS, MAX_IMAGE_BYTES

    limit = MAX_IMAGE_BYTES
    upload = upload_input(f"Image ({' '.join(IMAGE_EXTS)})", key="memes-upload", kinds={"image": IMAGE_EXTS},
                          limit=limit, folder_name=UPLOAD_FOLDER, what="images", check=_decoder(limit),
                          note="so are files that do not decode as an image; a GIF's first frame is read.")
    text = st.text_area("Text of the meme (as written on it)", key="memes-text", height=80)
    if upload is None:
        st.info("Upload an image and type its text to classify it.")
    if not upload:
        return None
    row = {"text": text}
    if not text.strip():
        st.warning("No text typed: the meme is classified on its image alone (and an empty text).")
    return upload.value, f"file:{upload.path.name}", f"the upload **{upload.name}** ({upload.size / MB:.2f} MB)", \
        row


def _show_prediction(pred: dict, setting: str, model, meta, row: dict | None) -> None:
    stamped = replace(meta, models=tuple(model.models))
    truth = row.get("label") if row else None
    _verdict(pred["label"], f"Prediction: **{pred['label']}** (probability {pred['confidence']:.2f})"
             + (f" — truly **{truth}**" + (" ✓" if truth == pred["label"] else " ✗") if truth else ""))
    from workbench.viz.memes import probability_figure

    chart(probability_figure(pred["probabilities"], truth=truth), stamped)
    tags = pred.get("tags") or []
    st.markdown("**Image tags** — " + (", ".join(f"{t['tag']} ({t['p']:.2f})" for t in tags)
                                       or "none above the tagger's threshold"))
    st.markdown("**Retrieved knowledge triples**")
    if not model.config.uses_knowledge:
        st.info("The **none** setting uses no background knowledge: nothing is retrieved for it.")
    elif pred.get("triples"):
        show_table(triples_table(pred["triples"]), hide_index=True, width="stretch")
        st.caption("score = source prior × edge weight × 0.6^hop (lexicon 3, identity facts 2.5, other facts 1); "
                   "matched = the span of the text, or the image tag, the triple was reached from.")
    else:
        st.info("No triple was retrieved for this meme (no entity, lexicon term or known concept in its text or "
                "image tags).")
    with st.expander("What the text encoder reads"):
        st.code(pred.get("input", ""), language=None, wrap_lines=True)


def _classify_tab(frame, meta) -> None:
    from workbench import WorkbenchError
    from workbench.memes.model import SETTINGS

    st.markdown("Pick a meme of the evaluation set — or upload an image and type its text — and the models of this "
                "artifact classify it: the image side tags what is drawn, the tags and the text link to the local "
                "knowledge (entities, a hate-symbol lexicon, ConceptNet-style edges), and the text side reads the "
                "text with the retrieved triples. The cascade then explains the decision step by step.")
    source = st.radio("Meme", SOURCES, key="memes-source", horizontal=True)
    left, right = st.columns([3, 2])
    setting = right.radio("Setting", SETTINGS, index=SETTINGS.index(DEFAULT_SETTING), key="memes-setting",
                          horizontal=True, help=" · ".join(f"{k}: {v}" for k, v in SETTING_NOTES.items()))
    right.caption(SETTING_NOTES.get(setting, ""))
    explain = right.checkbox("Explainer LLM", value=True, key="memes-explain",
                             help="off: the cascade shows the measured evidence only (faster, no LLM)")
    with left:
        picked = _pick_eval(frame) if source == SOURCES[0] else _pick_upload()
    if picked is None:
        return
    image, image_key, label, row = picked
    text = str(row.get("text", ""))
    st.image(image, caption=f"{label} — “{text}”" if text else label, width=320)
    key = cache.meme_models_key(meta.config, meta.profile)
    explainer = _explainer(meta) if explain else None
    try:
        models = cache.meme_models(key)
        model = models[setting]
        with st.spinner(f"Classifying ({setting})…"):
            pred = cache.meme_prediction(image_key, text, setting, key, model, image)
        lm = cache.model(explainer) if explainer else None
        with st.spinner("Explaining" + (f" with {explainer}…" if explainer else "…")):
            explained = cache.meme_cascade(image_key, text, setting, key, explainer, model, image, pred, lm)
    except WorkbenchError as exc:
        st.error(str(exc))
        return
    _show_prediction(pred, setting, model, meta, row)
    if row.get("id") is not None:
        rows = frame[frame["id"].astype(str) == str(row["id"])]
        if len(rows):
            st.caption("What the evaluation predicted for this meme, per setting:")
            show_table(rows[["setting", "pred", "confidence"]].round({"confidence": 3}), hide_index=True,
                         width="stretch")
    st.subheader("Explanation cascade")
    _show_cascade(explained)
    st.caption(f"Classified {label} in the **{setting}** setting · produced on the **{meta.profile}** profile by "
               f"{', '.join(model.models)}" + (f" · explainer {explainer}" if explainer else " · no explainer LLM"))


# ------------------------------------------------------------------------------------------------ Evaluation


def ablation_table(metrics, classes):
    """The ablation: macro-F1 and accuracy with their 95 % CIs and per-class F1, one row per setting."""
    import pandas as pd

    rows = []
    for r in metrics:
        rows.append({"setting": r["setting"], "macro-F1": round(float(r["macro_f1"]), 3),
                     "macro-F1 95 % CI": _ci(r.get("macro_f1_lo"), r.get("macro_f1_hi")),
                     "accuracy": round(float(r["accuracy"]), 3),
                     "accuracy 95 % CI": _ci(r.get("accuracy_lo"), r.get("accuracy_hi")),
                     **{f"F1 {c}": round(float(r[f"f1_{c}"]), 3) for c in classes if f"f1_{c}" in r},
                     "memes": r.get("rows"), "models": r.get("models", "")})
    return pd.DataFrame(rows)


def gains_table(gains):
    import pandas as pd

    return pd.DataFrame([{"setting": g["setting"], "over": g.get("over", "none"),
                          "relative macro-F1 gain": f"{100 * g['relative_gain']:+.1f} %",
                          "95 % CI": f"{100 * g['lo']:+.1f} % to {100 * g['hi']:+.1f} %",
                          "resamples above zero": f"{100 * g.get('share_positive', float('nan')):.0f} %"}
                         for g in gains])


LEDGER_COLUMNS = ["metric", "claim", "ours", "status", "reason", "shortcut", "models", "data", "artifact"]


def claims_rows(ledger):
    """P5's rows of the claims ledger (``workbench.claims.ledger_frame``): the paper's claim beside ours, with
    status, reason and the shortcut baseline — the same rows as ``workbench claims P5`` and the *Claims vs ours*
    page."""
    return ledger.loc[ledger["paper"] == "P5", LEDGER_COLUMNS].reset_index(drop=True)


def _evaluation(frame, meta) -> None:
    import pandas as pd

    from workbench import WorkbenchError
    from workbench.claims import ledger_frame

    from workbench.viz.memes import ablation_figure, confusion_figure, gains_figure, slice_figure

    config = meta.config
    metrics, gains = config.get("metrics") or [], config.get("gains") or []
    classes = config.get("classes") or sorted(frame["label"].unique())
    st.markdown(f"**{frame['id'].nunique()} held-out memes** ({config.get('split', 'evaluation split')})"
                + (" — smoke size" if config.get("smoke") else "")
                + f", classified on the **{meta.profile}** profile by {', '.join(meta.models)}.")
    st.subheader("Headline: flip groups, beside the full split and a shortcut baseline")
    from workbench.memes.flips import headline_table
    from workbench.memes.shortcut import shortcut_line
    from workbench.viz.memes import headline_figure

    if config.get("flip_pairs") or config.get("shortcut"):
        show_table(headline_table(config), hide_index=True, width="stretch")
        chart(headline_figure(config), meta)
        line = shortcut_line(config.get("shortcut"))
        st.caption("A flip group is two or three memes of one text frame that differ in one thing — the target, a "
                   "coded term or a drawn hate symbol — and in their label; it counts only when every member is "
                   "right (strict macro-F1: a row of a missed group counts as a miss). A model that reads the "
                   "frame, the text's length or the picture's brightness instead of the meme cannot pass it."
                   + (f" Shortcut baseline: {line}." if line else ""))
    else:
        st.info("This artifact predates the flip-group headline and the shortcut baseline: rebuild it with "
                "`workbench build P5 --force`.")

    st.subheader("Ablation: what knowledge and LoRA add")
    if metrics:
        show_table(ablation_table(metrics, classes), hide_index=True, width="stretch")
        chart(ablation_figure(metrics), meta)
        from workbench.memes.train import lora_note

        line = lora_note(config.get("training") or {})
        st.caption("Macro-F1 averages the F1 of the three classes; the 95 % intervals are percentile bootstrap "
                   "CIs over the held-out memes." + (f" {line}" if line else ""))
    else:
        st.info("The artifact holds no metrics.")
    if gains:
        st.markdown("**Relative macro-F1 gain over `none`** (paired bootstrap: the same resampled memes score "
                    "both settings)")
        show_table(gains_table(gains), hide_index=True, width="stretch")
        chart(gains_figure(gains), meta)
        st.caption("An ablation of our own model: what knowledge (and LoRA on top of it) add over the same model "
                   "without them. The paper's gain is over other state-of-the-art methods, a different comparison "
                   "(see the claims below).")
    confusion = config.get("confusion") or {}
    if confusion:
        chart(confusion_figure(confusion, classes), meta)

    st.subheader("Flip pairs and target types")
    st.caption("Accuracy per meme on each kind of flip group (what differs between its members: the target, a coded "
               "term of the text or the image). Target type: whom the meme is about (a people, an institution or "
               "an everyday target).")
    by_flip, by_target = config.get("by_flip") or [], config.get("by_target") or []
    if by_flip:
        chart(slice_figure(by_flip, "flip", title="Accuracy on the flip pairs, by what was flipped"), meta)
    if by_target:
        chart(slice_figure(by_target, "target_type", title="Accuracy by target type"), meta)
    if not (by_flip or by_target):
        st.info("The evaluation set has no flip pairs or target types.")

    explanations = config.get("explanations") or []
    if explanations:
        st.subheader("Saved explanation cascades")
        st.caption("Made by the builder with the knowledge+lora model for a sample of held-out memes.")
        for item in explanations:
            mark = "✓" if item.get("pred") == item.get("label") else "✗"
            with st.expander(f"{item['id']} — truly {item['label']}, predicted {item['pred']} {mark} — "
                             f"“{item['text']}”"):
                path = Path(str(item.get("image", "")))
                if path.is_file():
                    st.image(str(path), width=220)
                st.caption(f"confidence {item.get('confidence', float('nan')):.2f}"
                           + (f" · flip pair ({item['flip']})" if item.get("flip") else ""))
                _show_cascade(item.get("cascade") or {})

    st.subheader("The paper's claims beside ours")
    try:
        ledger = ledger_frame(["P5"], profile=meta.profile)
    except WorkbenchError as err:
        st.error(f"The claims ledger could not be read: {err}")
    else:
        show_table(claims_rows(ledger), hide_index=True, width="stretch")
    from workbench.papers import get_paper

    paper = get_paper("P5")
    gain, benchmarks, lvlms = (paper.number(m) for m in ("relative F1 improvement (max)", "benchmarks",
                                                         "LVLMs evaluated"))
    st.caption(f"CROSS-ALIGN+ reports up to {gain.text} F1 over state-of-the-art methods across {benchmarks.text} "
               f"meme benchmarks and {lvlms.text} LVLMs (from its abstract, via the paper registry). Ours come from "
               f"the claims ledger (`workbench claims P5`), read from this artifact: the workbench's synthetic memes "
               f"with the **{meta.profile}** profile's models ({', '.join(meta.models)}).")
    with st.expander("Every meme × setting"):
        columns = [c for c in ("id", "setting", "text", "label", "pred", "confidence", *(f"p_{c}" for c in classes),
                               "tags", "flip", "target_type", "pair_id") if c in frame.columns]
        show_table(pd.DataFrame(frame[columns]), hide_index=True, width="stretch")


# ------------------------------------------------------------------------------------------------ the VLM


VLM_HINT = ("Not built yet: `workbench build P5` builds the vision-language model's grid (`meme_vlm`); "
            "`workbench meme eval --data synthetic --vlm` does the same from the command line.")


def _vlm_header(frame, meta) -> str:
    """Who made the grid: memes, split, profile, models and the training subsample (from the config)."""
    config = meta.config
    training = config.get("training") or {}
    rows = sorted({(v.get("train_rows"), v.get("dev_rows")) for v in training.values() if isinstance(v, dict)}
                  - {(None, None)})
    trained = (f" Each VLM setting trained on {rows[0][0]} synthetic train-split memes ({rows[0][1]} more for "
               "choosing the epoch)." if len(rows) == 1 else "")
    return (f"**{frame['id'].nunique()} held-out memes** ({config.get('split', 'evaluation split')})"
            + (" — smoke size" if config.get("smoke") else "")
            + f", scored on the **{meta.profile}** profile by {', '.join(meta.models)}.{trained}")


def _vlm_examples(explanations) -> None:
    """A few saved explanations per setting, with the evidence they were checked against."""
    for check in explanations:
        examples = check.get("examples") or []
        if not examples:
            continue
        with st.expander(f"Example explanations — {check['setting']} ({len(examples)})"):
            for x in examples:
                mark = "✓" if x.get("pred") == x.get("label") else "✗"
                text = f" “{_printable(x['text'])}”" if x.get("text") else ""
                st.markdown(f"**{x.get('id', '')}**{text} — truly {x.get('label')}, predicted {x.get('pred')} "
                            f"{mark}: *{_printable(x.get('explanation', '')) or '(empty)'}*")
                st.caption(f"decisive words: {', '.join(x.get('decisive_words') or []) or 'none'} · triple "
                           f"concepts: {', '.join(x.get('concepts') or []) or 'none'} · names a decisive word "
                           f"{'yes' if x.get('cites_words') else 'no'}, a concept "
                           f"{'yes' if x.get('cites_knowledge') else 'no'}")


def _vlm_tab(frame, meta) -> None:
    """The ``meme_vlm`` artifact (``memes.artifacts.build_meme_vlm``): the four VLM settings beside the head models
    and the shortcut, the gains over ``vlm`` and the explanation check with its copy-the-prompt baselines."""
    from workbench.memes.vlm import NOT_IN_BUILD, grid_tables
    from workbench.viz.memes import gains_figure, headline_figure

    st.markdown("A small vision-language model (`workbench.memes.vlm`, every choice ours): the image side's "
                "embedding goes through a trained projector into soft tokens in a language model's input; the "
                "prompt holds the meme text and, with `+knowledge`, the retrieved triples; with `+lora`, LoRA "
                "adapters inside the LM train with the projector. Base, +knowledge, +LoRA (without knowledge) and "
                "+both separate the two effects that the head models' ablation confounds.")
    if meta is None:
        st.info(VLM_HINT)
        return
    config = meta.config or {}
    if config.get("refused"):
        st.warning(f"The **{meta.profile}** profile's build holds no grid: {config['refused']}. It predates the "
                   "paper profile's LLaVA-style VLM: rebuild it with `workbench build P5 --force --only meme_vlm`.")
        return
    headline, checks = grid_tables(config)
    st.markdown(_vlm_header(frame, meta))
    st.markdown("**The four settings beside the head models (`head …`) and the shortcut**")
    show_table(headline, name="vlm grid", hide_index=True, width="stretch")
    fig = headline_figure(config)
    fig.update_layout(title="Vision-language model: flip groups beside the full held-out split")
    chart(fig, meta)
    made = f" Synthetic memes · **{meta.profile}** profile · {', '.join(meta.models)}."
    st.caption("Rows `vlm…` are the VLM's settings; rows `head …` the head models of this profile's `meme_eval` "
               "(the same cached models), scored on the same synthetic held-out memes; the shortcut reads surface "
               "features only. The intervals are 95 % bootstrap CIs over memes (flip groups: over groups)." + made)
    gains = config.get("vlm_gains") or []
    if gains:
        st.markdown("**Relative macro-F1 gain over `vlm`** (paired bootstrap: the same resampled memes score both)")
        show_table(gains_table(gains), name="vlm gains", hide_index=True, width="stretch")
        chart(gains_figure(gains), meta)
    st.markdown("**Do the explanations cite the evidence that decided the label?** [ours]")
    if len(checks):
        show_table(checks.round(3), name="vlm explanation check", hide_index=True, width="stretch")
        st.caption("Each VLM explanation is checked for a decisive word (occlusion) and a knowledge-link triple's "
                   "concept; the copy rows count, on the same memes and evidence, an \"explanation\" that only "
                   "repeats the meme text, or the text and the triples a +knowledge prompt holds — what citing "
                   "costs without any reasoning. Only evidence absent from the meme text (\"names evidence not in "
                   "the meme text\") is out of reach of a copy of the text."
                   + (" This artifact predates the copy rows: rebuild it with `workbench build P5 --force`."
                      if checks["explanation"].str.contains(NOT_IN_BUILD).any() else "") + made)
        _vlm_examples(config.get("explanations") or [])
    else:
        st.info("This build checked no explanations.")


# ------------------------------------------------------------------------------------------------ the view


def render() -> None:
    st.title("Meme explorer")
    st.markdown("CROSS-ALIGN+ (P5) grounds meme abuse detection in knowledge: it reads the image and the text, "
                "retrieves background knowledge about who and what they mention, aligns the two with contrastive "
                "LoRA fine-tuning, and explains its verdict in cascaded steps. Here: the three settings of the "
                "ablation (no knowledge, knowledge, knowledge + LoRA), trained on the workbench's synthetic memes.")
    frame, meta = built_artifact("P5", "meme_eval", hint=HINT)
    vlm_frame, vlm_meta = cache.artifact_frame("P5", "meme_vlm", cache.environment()["profile"])
    if frame is None and vlm_meta is None:
        return
    if frame is None:                  # the VLM grid alone (a build that stopped between the two artifacts)
        _vlm_tab(vlm_frame, vlm_meta)
        return
    classify, evaluation, vlm = st.tabs(["Classify", "Evaluation", "Vision-language model"])
    with classify:
        _classify_tab(frame, meta)
    with evaluation:
        _evaluation(frame, meta)
    with vlm:
        _vlm_tab(vlm_frame, vlm_meta)


VIEW = View(key="memes", title="Meme explorer", section="Multimodal", icon=":material/image_search:",
            papers=("P5",), render=render)
