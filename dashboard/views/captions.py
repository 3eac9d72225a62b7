"""Audio captions (P9 zero-shot audio captioning): caption an uploaded clip, a generated sound or a clip of the
evaluation set with the scorer and caption LM of the built ``caption_eval`` artifact — the keywords the audio-text
model ranks first, the prompt built from them and the greedy, contrastive-search and MAGIC captions with their
audio–caption cosine (self-scored: the model MAGIC steers with) — and read the evaluation: metrics per decoder, the
audio–caption cosine of an independent judge beside the self-scored one, the keyword-count ablation, the keyword hit
rate, the checks a shortcut cannot pass (the references' phrasing overlap with the scorer's training captions, a
surface-feature shortcut baseline, keyword and caption hits on real recordings) and the paper's numbers beside ours.

The scorer is the one that built the artifact (``scorer_from_meta``); the caption LM is the profile's
``caption_lm``, or the causal LM that session state ``captions-lm`` names (tests use ``tiny-llama``). Uploads are
written to a temporary folder under a name derived from their content (the original suffix kept), so reruns reuse
the same file.
"""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import streamlit as st

from dashboard import cache
from dashboard.components import built_artifact, chart, show_table
from dashboard.registry import View
from dashboard.uploads import MB, accept_upload, file_stamp, upload_input

HINT = "`workbench caption eval --data synthetic --out DIR` does the same from the command line."
UPLOAD_FOLDER = "workbench-caption-uploads"
SOURCES = ("Generate a sound", "Evaluation set", "Upload a file")
ANY_VARIANT = "any (drawn from the seed)"
DECODER_NOTES = {"greedy": "the most likely next token each step",
                 "contrastive": "contrastive search: top-k, penalising tokens that repeat the context (α 0.1)",
                 "magic": "MAGIC search: contrastive search plus β × the candidate text's cosine with the audio"}
OUR_KEY = {"METEOR": "METEOR (exact+stem)", "CIDEr": "CIDEr-D"}
SELF = "audio–caption cosine (self-scored)"           # the guide's own cosine: MAGIC picks tokens with that model
GUIDE = "audio–caption cosine"                         # its key in the artifact (captioning.evaluation.GUIDE_COSINE)
JUDGE = "audio–caption cosine (independent judge)"     # captioning.evaluation.JUDGE_SCORE


# ------------------------------------------------------------------------------------------------ helpers


def _kinds() -> dict[str, tuple[str, ...]]:
    from workbench.media.files import AUDIO_EXTS

    return {"audio": AUDIO_EXTS}


def handle_upload(name: str, data: bytes, limit: int) -> Path:
    """Write an uploaded audio file to a temporary file that keeps its suffix; the path. Refused
    (``WorkbenchError``, nothing written) when the suffix is not a supported audio one, when it is empty or over
    ``limit`` bytes. The file name comes from the content's hash, so the same upload maps to the same path."""
    return accept_upload(name, data, limit, _kinds(), UPLOAD_FOLDER)[0]


_stamp = file_stamp


def _rates() -> tuple[int, int]:
    """(sample rate, log-mel hop) of the audio-text model: what clips are read at and drawn with."""
    from workbench.captioning.clap import SR
    from workbench.media.features import HOP

    return SR, HOP


def _audio_file(path: Path):
    """An audio file read as the audio-text model takes it, up to the captioner's ``MAX_SECONDS``."""
    from workbench.captioning.captioner import MAX_SECONDS

    return cache.audio_file(str(path), _stamp(path), _rates()[0], MAX_SECONDS)


def _lm_name(meta) -> str:
    from workbench.profiles import get_profile

    return st.session_state.get("captions-lm") or get_profile(meta.profile).model_for("caption_lm")


def _num(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


# ------------------------------------------------------------------------------------------------ Caption a clip


def _pick_generated():
    """(audio, cache key, label, evaluation clip or None) of a rendered sound, or None after an error."""
    from workbench import WorkbenchError
    from workbench.captioning.synth import CLASSES, VARIANTS

    left, middle, right = st.columns([2, 2, 1])
    name = left.selectbox("Sound class", list(CLASSES), key="captions-class")
    variant = middle.selectbox("Variant", [ANY_VARIANT, *VARIANTS[name]], key="captions-variant")
    seed = int(right.number_input("Seed", min_value=0, max_value=10_000, value=0, step=1, key="captions-seed"))
    variant = None if variant == ANY_VARIANT else variant
    try:
        audio = cache.generated_sound(name, variant, seed)
    except WorkbenchError as exc:
        st.error(str(exc))
        return None
    label = f"a generated **{name}** sound" + (f" ({variant})" if variant else "") + f", seed {seed}"
    return audio, f"gen:{name}:{variant}:{seed}", label, None


def _pick_eval(frame, meta):
    from workbench import WorkbenchError

    ids = list(dict.fromkeys(str(i) for i in frame["id"]))
    refs = {str(r["id"]): list(r["references"]) for r in frame.drop_duplicates("id").to_dict("records")}
    picked = st.selectbox("Clip of the evaluation set", ids, key="captions-eval-clip",
                          format_func=lambda i: f"{i} — “{refs[i][0]}”" if refs.get(i) else i)
    try:
        paths = cache.sound_clip_paths(json.dumps(meta.config.get("corpus") or {}, sort_keys=True))
    except (WorkbenchError, TypeError) as exc:
        st.error(f"The evaluation set cannot be made again here: {exc}")
        return None
    path = Path(paths.get(picked, ""))
    if picked not in paths or not path.is_file():
        st.error(f"{picked}: the clip's file is not in the sound corpus of this artifact any more.")
        return None
    try:
        audio = _audio_file(path)
    except WorkbenchError as exc:
        st.error(str(exc))
        return None
    clip = {"id": picked, "references": refs.get(picked)}
    return audio, f"eval:{picked}:{_stamp(path)}", f"evaluation clip **{picked}**", clip


def _pick_upload():
    from workbench.captioning.captioner import MAX_SECONDS
    from workbench.media.files import MAX_MEDIA_BYTES

    kinds = _kinds()
    upload = upload_input(f"Audio ({' '.join(kinds['audio'])})", key="captions-upload", kinds=kinds,
                          limit=MAX_MEDIA_BYTES, folder_name=UPLOAD_FOLDER,
                          note=f"the first {MAX_SECONDS:.0f} s are captioned.", check=_audio_file)
    if upload is None:
        st.info("Upload an audio file to caption it.")
    if not upload:
        return None
    return upload.value, f"file:{upload.path.name}:{_stamp(upload.path)}", \
        f"the upload **{upload.name}** ({upload.size / MB:.2f} MB)", None


def _show_clip(audio, key: str, meta) -> None:
    from workbench.viz.deepfake import spectrogram_figure, waveform_figure

    sr, hop = _rates()
    st.audio(audio, sample_rate=sr)
    chart(waveform_figure(audio, sr), meta)
    chart(spectrogram_figure(cache.mel(key, sr, hop, audio), sr, hop), meta)


def _show_captions(result: dict, meta, frame) -> None:
    import pandas as pd

    from workbench.viz.captions import keyword_bars

    out, stamped = result["out"], replace(meta, models=tuple(result["models"]))
    keywords = out["keywords"]
    st.markdown("**Keywords** — " + (", ".join(f"{kw['keyword']} ({kw['score']:.3f})" for kw in keywords)
                                     or "none (l = 0)"))
    if keywords:
        chart(keyword_bars(keywords), stamped)
    st.markdown("**Prompt** (decoded from its end):")
    st.code(out["prompt"], language=None, wrap_lines=True)
    columns = st.columns(len(out["captions"]))
    for column, (decoder, text) in zip(columns, out["captions"].items()):
        with column:
            st.markdown(f"**{decoder}**")
            st.markdown(f"> {text.strip()}" if text.strip() else "*(empty caption)*")
            st.metric(SELF, f"{out['audio_scores'][decoder]:+.3f}",
                      help="cosine of the caption's and the clip's embeddings in the audio-text model that guides "
                           "MAGIC — self-scored, so it shows MAGIC's audio term at work, not caption quality")
            st.caption(f"{DECODER_NOTES.get(decoder, decoder)} · {out['seconds'][decoder]:.2f} s")
    settings = result["settings"]
    st.caption(f"Captioned {result['label']} with l = {settings['l']}, k = {settings['k']}, α = {settings['alpha']}, "
               f"β = {settings['beta']}, at most {settings['max_new_tokens']} new tokens · produced on the "
               f"**{meta.profile}** profile by {', '.join(result['models'])}")
    if result.get("references"):
        st.markdown("**Reference captions of this clip:** " + " · ".join(f"“{r}”" for r in result["references"]))
        rows = frame[(frame["id"].astype(str) == result["clip_id"]) & (frame["l"] == settings["l"])]
        if len(rows):
            st.caption(f"What the evaluation produced for this clip (l = {settings['l']}, its own settings):")
            table = {"decoder": rows["decoder"], "caption": rows["caption"], SELF: rows["audio_score"].round(3)}
            if "judge_score" in rows.columns:
                table[JUDGE] = rows["judge_score"].round(3)
            show_table(pd.DataFrame(table),
                         hide_index=True, width="stretch")


def _caption_tab(frame, meta) -> None:
    from workbench import WorkbenchError

    st.markdown("Pick a sound — generated here, a clip of the evaluation set, or your own file — and caption it: "
                "the audio-text model ranks the keyword vocabulary against the clip, the top-l keywords go into the "
                "prompt, and the caption LM continues it with three decoders.")
    source = st.radio("Clip", SOURCES, key="captions-source", horizontal=True)
    if source == SOURCES[0]:
        picked = _pick_generated()
    elif source == SOURCES[1]:
        picked = _pick_eval(frame, meta)
    else:
        picked = _pick_upload()
    if picked is None:
        return
    audio, key, label, clip = picked
    sr = _rates()[0]
    st.caption(f"Showing {label}: {len(audio) / sr:.2f} s at {sr} Hz.")
    _show_clip(audio, key, meta)

    defaults = meta.config.get("settings") or {}
    c1, c2, c3, c4 = st.columns(4)
    l = c1.slider("keywords l", 0, 5, int(defaults.get("l", 2)), key="captions-l",
                  help="how many of the top-ranked keywords go into the prompt")
    k = c2.slider("k (candidates)", 1, 64, int(min(64, max(1, defaults.get("k", 45)))), key="captions-k",
                  help="top-k candidates per step for contrastive search and MAGIC")
    alpha = c3.slider("α (degeneration penalty)", 0.0, 1.0, float(defaults.get("alpha", 0.0)), 0.05,
                      key="captions-alpha", help="MAGIC's penalty on candidates similar to the context")
    beta = c4.slider("β (audio weight)", 0.0, 5.0, float(defaults.get("beta", 0.5)), 0.1, key="captions-beta",
                     help="MAGIC's weight on the candidate text's cosine with the clip")
    max_new_tokens = int(defaults.get("max_new_tokens", 20))
    lm_name = _lm_name(meta)
    scorer_key = cache.scorer_key(meta.config)
    settings = {"l": l, "k": k, "alpha": alpha, "beta": beta, "max_new_tokens": max_new_tokens}
    run_key = (key, l, k, alpha, beta, max_new_tokens, lm_name)
    if st.button("Caption", key="captions-run", type="primary"):
        try:
            scorer = cache.caption_scorer(scorer_key, meta.profile)
            lm = cache.model(lm_name)
            captioner = cache.captioner(scorer_key, meta.profile, lm_name, scorer, lm)
            with st.spinner(f"Captioning with {lm_name} (greedy, contrastive, MAGIC)…"):
                out = cache.caption(key, scorer_key, meta.profile, lm_name, l, k, alpha, beta, max_new_tokens,
                                    captioner, audio)
        except WorkbenchError as exc:
            st.error(str(exc))
            return
        clip = clip or {}
        st.session_state["captions-result"] = {"key": run_key, "out": out, "models": captioner.models,
                                               "label": label, "settings": settings, "clip_id": clip.get("id"),
                                               "references": clip.get("references")}
    result = st.session_state.get("captions-result")
    if result and result["key"] == run_key:
        _show_captions(result, meta, frame)
    elif result:
        st.info("The clip or the settings changed: press **Caption** to caption it again.")
    else:
        st.info(f"Press **Caption** to caption it with {lm_name}.")


# ------------------------------------------------------------------------------------------------ Evaluation


def _metrics_table(records):
    import pandas as pd

    from workbench.viz.captions import METRICS

    table = pd.DataFrame(records)
    columns = [c for c in ("decoder", "l", *METRICS, JUDGE, GUIDE, "clips") if c in table.columns]
    table = table[columns].rename(columns={GUIDE: SELF})
    return table.round({c: 2 for c in METRICS} | {SELF: 3, JUDGE: 3})


def _by(records, key: str, value):
    return next((r for r in records if r.get(key) == value), None)


def _claims_table(metrics, ablation, profile: str):
    import pandas as pd

    from workbench.papers import get_paper

    paper = get_paper("P9")
    greedy_p, magic_p, gain_p, drop_p, best_p = (paper.number(m).value for m in (
        "NLG mean score, greedy", "NLG mean score, MAGIC search (WavCaps)", "relative improvement from MAGIC",
        "drop without keyword list", "best number of keywords"))
    ours = f"ours ({profile}, synthetic)"
    greedy, magic = _by(metrics, "decoder", "greedy"), _by(metrics, "decoder", "magic")
    rows = []
    if greedy and magic:
        g, m = greedy["NLG mean"], magic["NLG mean"]
        rel = f" ({100 * (m - g) / g:+.0f} %)" if g else ""
        rows.append({"claim": "NLG mean, greedy → MAGIC search",
                     "paper": f"{greedy_p:g} → {magic_p:g} ({gain_p:+g} %)", ours: f"{g:.1f} → {m:.1f}{rel}"})
    if ablation:
        best = max(ablation, key=lambda r: r["NLG mean"])
        rows.append({"claim": "best number of keywords l", "paper": f"{best_p:g}",
                     ours: f"{best['l']} (NLG mean {best['NLG mean']:.1f})"})
        none = _by(ablation, "l", 0)
        with_keywords = [r for r in ablation if r["l"] > 0]
        if none is not None and with_keywords:
            top = max(with_keywords, key=lambda r: r["NLG mean"])
            drop = f"{100 * (none['NLG mean'] - top['NLG mean']) / top['NLG mean']:+.0f} % " if top["NLG mean"] \
                else ""
            rows.append({"claim": "without keywords (l = 0), against the best l ≥ 1",
                         "paper": f"−{drop_p:g} % NLG mean",
                         ours: f"{drop}(l = 0: {none['NLG mean']:.1f}; l = {top['l']}: {top['NLG mean']:.1f})"})
    return pd.DataFrame(rows)


def _reference_table(metrics, profile: str, not_computed: dict):
    import pandas as pd

    from workbench.papers import get_paper

    magic = _by(metrics, "decoder", "magic") or {}
    rows = []
    for reference in get_paper("P9").reported:                  # ZerAuCap's results on AudioCaps (×100)
        name, value = reference.metric, reference.value
        if name.startswith("NLG mean, l = "):                   # the keyword ablation: drawn in its figure
            continue
        key = OUR_KEY.get(name, name)
        ours = _num(magic.get(key), 1) if key in magic else ("not computed" if name in not_computed else "–")
        rows.append({"metric": name + (f" (ours: {key})" if key != name else ""),
                     "ZerAuCap (AudioCaps, as reported)": f"{value:.1f}", f"ours, MAGIC ({profile}, synthetic)": ours})
    return pd.DataFrame(rows)


def _evaluation(frame, meta) -> None:
    import pandas as pd

    from workbench.viz.captions import ablation_figure, audio_score_figure, metrics_figure

    config = meta.config
    metrics, ablation = config.get("metrics") or [], config.get("ablation") or []
    settings = config.get("settings") or {}
    l = int(settings.get("l", 2))
    st.markdown(f"**{config.get('clips', frame['id'].nunique())} clips** of the {config.get('set', 'evaluation set')}"
                + (" — smoke size" if config.get("smoke") else "")
                + f", captioned on the **{meta.profile}** profile by {', '.join(meta.models)} "
                f"(k = {settings.get('k')}, α = {settings.get('alpha')}, β = {settings.get('beta')}, "
                f"at most {settings.get('max_new_tokens')} new tokens).")
    st.subheader("Metrics per decoder")
    if metrics:
        show_table(_metrics_table(metrics), hide_index=True, width="stretch")
        chart(metrics_figure(metrics), meta)
    else:
        st.info("The artifact holds no metrics.")
    not_computed = config.get("not_computed") or {}
    if not_computed:
        st.markdown("**Not computed:**\n" + "\n".join(f"- **{k}** — {v}" for k, v in not_computed.items()))
    over = config.get("nlg_mean_over") or []
    st.caption("All scores ×100, each against every reference caption of a clip. **NLG mean** is the plain mean "
               f"of the metrics computed here ({', '.join(over) or 'none'}); a mean that also counts SPICE and "
               "SPIDEr averages other numbers, so its level is not comparable with ours head to head.")

    st.subheader("Does MAGIC move captions toward the audio?")
    judge = config.get("judge")
    if len(frame) and "judge_score" in frame.columns:
        chart(audio_score_figure(frame, l=l, column="judge_score", scorer="independent judge: a second audio-text "
                                 "model that never guides decoding"), meta)
    if len(frame):
        chart(audio_score_figure(frame, l=l), meta)
    for key, who, note in ((JUDGE, f"the independent judge ({judge})",
                            "The judge was trained with another seed, MiniLM as its text tower and held-out "
                            "phrasings; it never picks tokens, so this is an audio–caption quality score."),
                           (GUIDE, "the guide's own space (self-scored)",
                            "MAGIC uses that same model to pick tokens, so this shows its audio term at work, not "
                            "caption quality.")):
        cos = {r["decoder"]: r.get(key) for r in metrics}
        if cos.get("magic") is None or cos.get("greedy") is None:
            continue
        diff = cos["magic"] - cos["greedy"]
        verdict = "closer to" if diff > 0 else "no closer to"
        st.markdown(f"Mean audio–caption cosine in {who}: greedy **{cos['greedy']:.3f}**, contrastive "
                    f"**{_num(cos.get('contrastive'), 3)}**, MAGIC **{cos['magic']:.3f}** — MAGIC's captions are "
                    f"{verdict} the audio than greedy's ({diff:+.3f}). {note}")
    if not judge:
        st.caption("No independent judge in this artifact (the paper profile, or built before issue 18): the only "
                   "audio–caption number is self-scored.")

    st.subheader("Keyword ablation (MAGIC)")
    if ablation:
        show_table(_metrics_table(ablation), hide_index=True, width="stretch")
        chart(ablation_figure(ablation), meta)
        st.caption("The dashed series is ZerAuCap's keyword ablation as reported, on AudioCaps — a different "
                   "dataset and models, drawn for the shape of the curve, not for its level.")
    rate = config.get("keyword_top3_hit_rate")
    if rate is not None:
        st.metric("Keyword top-3 hit rate", f"{100 * rate:.0f} %",
                  help="share of evaluation clips with at least one of their labels among the three keywords the "
                       "audio-text model ranks first")

    _shortcut_checks(config, metrics)
    _scorer_comparison(meta.profile)

    st.subheader("The paper's numbers beside ours")
    show_table(_claims_table(metrics, ablation, meta.profile), hide_index=True, width="stretch")
    st.markdown("**ZerAuCap's reference results** (AudioCaps test set) beside MAGIC's here:")
    show_table(_reference_table(metrics, meta.profile, not_computed), hide_index=True, width="stretch")
    st.caption(f"Ours are measured on the workbench's synthetic sound corpus (held-out clips, "
               f"{config.get('clips', '?')} of them) with the **{meta.profile}** profile's models "
               f"({', '.join(meta.models)}); the paper's on AudioCaps / WavCaps with its own models. Not the same "
               "data, so the numbers are not comparable head to head.")
    with st.expander("Every clip's captions"):
        table = frame.copy()
        for column in ("keywords", "references"):
            if column in table.columns:
                table[column] = [" · ".join(map(str, v)) for v in table[column]]
        columns = [c for c in ("id", "l", "decoder", "caption", "audio_score", "seconds", "keywords", "references")
                   if c in table.columns]
        show_table(pd.DataFrame(table[columns]), hide_index=True, width="stretch")


def _scorer_comparison(profile: str) -> None:
    """The ``caption_scorers`` artifact: every audio–text model of the profile guiding the same captions."""
    import pandas as pd

    from workbench.captioning.compare import BASELINE, CHANCE, DELTA, retrieval_table
    from workbench.captioning.evaluation import JUDGE_SCORE
    from workbench.viz.captions import scorer_strength_figure

    st.subheader("Which audio–text model? Scorer comparison")
    frame, meta = cache.artifact_frame("P9", "caption_scorers", profile)
    if frame is None:
        st.info("Not built yet: `workbench build P9` builds the scorer comparison (`caption_scorers`).")
        return
    config = meta.config
    settings = config.get("settings") or {}
    st.markdown("The abstract: quality is *heavily influenced by the audio-text matching model*. Each scorer ranks "
                "the keywords and guides MAGIC on the same "
                f"{settings.get('captioned_clips', '?')} clips; the same independent judge "
                f"({settings.get('judge', '?')}) scores every caption. Retrieval R@k is measured on "
                f"{settings.get('retrieval_clips', '?')} held-out clips; a caption or clip counts as relevant when "
                "it has the query's label set (same-class clips have paraphrased references).")
    rows, missing = retrieval_table(config)
    scorers = pd.DataFrame(rows)
    if len(scorers):
        keep = ["scorer", "keyword_top3_hit_rate"] + [c for c in scorers.columns if c.endswith(("R@1", "R@5",
                                                                                                  "R@10"))]
        show_table(scorers[keep].round(3), name="scorer retrieval", hide_index=True, width="stretch")
        st.caption(f"{BASELINE}: the same R@k from clip length, file size, loudness, peak, silence share and "
                   "spectral centroid alone "
                   "(nearest train clips → their label sets, a perfect caption reader on the text side); "
                   f"{CHANCE}: a random ranking's expected R@k. " + (missing or "What a scorer retrieves beyond the "
                                                                     "baseline row is more than these cues."))
    table = pd.DataFrame(config.get("ablation") or [])
    if len(table):
        table[DELTA] = [f"{d['value']:+.2f}" + (f" [{d['ci'][0]:+.2f}, {d['ci'][1]:+.2f}]" if d.get("ci") else "")
                        for d in table[DELTA]]
        table[f"{JUDGE_SCORE} CI"] = [f"[{lo:.3f}, {hi:.3f}]" for lo, hi in table[f"{JUDGE_SCORE} CI"]]
        show_table(table, name="scorer keyword ablation", hide_index=True, width="stretch")
        chart(scorer_strength_figure(config), meta)
        st.caption(f"{DELTA}: the paired change in the judge's cosine (×100) against the first scorer "
                   f"({config.get('first')}), with a 95 % bootstrap interval over the same clips.")


def _shortcut_checks(config: dict, metrics) -> None:
    """Issue 18's checks, read from the artifact's meta: phrasing overlap, the shortcut baseline, real recordings."""
    import pandas as pd

    from workbench.captioning.real import real_line
    from workbench.captioning.shortcut import shortcut_line

    st.subheader("Checks a shortcut cannot pass")
    overlap, shortcut, real = config.get("phrasing_overlap"), config.get("shortcut"), config.get("real")
    if not (overlap or shortcut or real):
        st.info("This artifact predates the shortcut checks: rebuild it (`workbench build P9 --force`).")
        return
    if overlap:
        st.markdown("**Reference phrasings vs the scorer's training captions** — share of the eval references' word "
                    "and n-gram types that occur in the train clips' captions (what the audio-text model learnt "
                    "on); class nouns are shared by design, sentences are held out.")
        show_table(pd.DataFrame([overlap]).round(3), hide_index=True, width="stretch")
    if shortcut:
        surface, structure = shortcut.get("surface") or {}, shortcut.get("structure") or {}
        rows = [{"captioner": r["decoder"], "NLG mean": r.get("NLG mean")} for r in metrics
                if r.get("decoder") in ("greedy", "magic")]
        rows += [{"captioner": "shortcut: surface-feature 1-NN caption", "NLG mean": surface.get("nlg_mean"),
                  "class accuracy": surface.get("class_accuracy")},
                 {"captioner": "+ structure cues: peak, silence ratio, centroid",
                  "NLG mean": structure.get("nlg_mean"), "class accuracy": structure.get("class_accuracy")},
                 {"captioner": "chance: a random train caption", "NLG mean": surface.get("random_nlg_mean"),
                  "class accuracy": surface.get("chance_accuracy")}]
        st.markdown("**Shortcut baseline beside the headline** (same eval clips, same metrics):")
        show_table(pd.DataFrame(rows).round(3), hide_index=True, width="stretch")
        st.caption(shortcut_line(shortcut))
    if real:
        st.markdown("**Real recordings** (CC0 animal sounds, pyannote's two-speaker sample): " + real_line(real))
        if real.get("rows"):
            table = pd.DataFrame(real["rows"])
            table["keywords"] = [" · ".join(map(str, k)) for k in table["keywords"]]
            show_table(table, hide_index=True, width="stretch")


# ------------------------------------------------------------------------------------------------ the view


def render() -> None:
    st.title("Audio captions")
    st.markdown("Zero-shot audio captioning (P9): an audio-text model picks keywords for a clip from a vocabulary "
                "of sound-event names, the keywords go into a prompt, and an LLM writes the caption — greedily, by "
                "contrastive search, or by MAGIC search, which steers every token toward the audio. No captioning "
                "data is trained on.")
    frame, meta = built_artifact("P9", "caption_eval", hint=HINT)
    if frame is None:
        return
    caption, evaluation = st.tabs(["Caption a clip", "Evaluation"])
    with caption:
        _caption_tab(frame, meta)
    with evaluation:
        _evaluation(frame, meta)


VIEW = View(key="captions", title="Audio captions", section="Multimodal", icon=":material/graphic_eq:",
            papers=("P9",), render=render)
