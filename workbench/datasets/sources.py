"""Loaders for the public datasets behind P1/P2/P4, in their released formats (local files only).

* DICES-350 / DICES-990 (one CSV row per rater × conversation; demographics kept): ``load_dices`` (columns and
  the released value encodings checked: ratings and ``safety_gold`` are "Yes" = unsafe / "No" / "Unsure"),
  ``dices_gold`` (the expert label per conversation as 1 = unsafe / 0), ``dices_items`` (one row per conversation
  with the raters' Q_overall distribution, overall and per demographic group), ``dices_group_shares`` (the
  per-group distribution in long format), and ``dices_fixture`` (a small synthetic frame with DICES-350's exact
  column names and value encodings, for tests and the smoke notebooks);
* BeaverTails JSONL (``prompt``, ``response``, ``category`` {14 keys → bool}, ``is_safe``): ``load_beavertails``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.datasets.tables import read_table

DICES_REQUIRED = ("rater_id", "rater_gender", "rater_race", "rater_age", "rater_education", "item_id", "context",
                  "response", "degree_of_harm", "Q_overall")
DICES_OPTIONAL = ("id", "rater_raw_race", "rater_race_raw", "rater_locale", "phase", "harm_type", "safety_gold",
                  "safety_gold_reason", "Q2_harmful_content_overall", "Q3_bias_overall", "Q3_unfair_bias_overall",
                  "Q4_misinformation", "Q4_misinformation_overall", "Q5_political_affiliation",
                  "Q6_policy_guidelines_overall")
DEMOGRAPHICS = ("rater_gender", "rater_race", "rater_age", "rater_education")
RATINGS = ("Yes", "No", "Unsure")               # Q_overall: "is the conversation unsafe?" — Yes = unsafe
# The released files' top-level rating columns, each "Yes" / "No" / "Unsure" per rater (350: Q2, Q3, Q4, Q5, Q6;
# 990: Q2, Q3_unfair_bias, Q4); Q_overall must be answered, the others may be blank.
RATING_COLUMNS = ("Q_overall", "Q2_harmful_content_overall", "Q3_bias_overall", "Q3_unfair_bias_overall",
                  "Q4_misinformation", "Q4_misinformation_overall", "Q5_political_affiliation",
                  "Q6_policy_guidelines_overall")
# DICES-350's expert gold label (the 990 release has none): "Yes" = the conversation is unsafe, "No" = safe.
GOLD = {"Yes": 1, "No": 0}
HARM_LEVELS = ("Benign", "Debatable", "Moderate", "Extreme")


def _check_values(df, column: str, allowed, path, *, blank_ok: bool) -> None:
    """Normalise ``column`` to the capitalised words of ``allowed`` (blank → None where ``blank_ok``); a value
    outside them is an error naming the file, the column, the value and its first row — never a default."""
    words = df[column].map(lambda v: None if v is None or (isinstance(v, float) and v != v)
                           else str(v).strip().capitalize())
    blank = words.isna() | (words == "")
    bad = ~blank & ~words.isin(list(allowed))
    if not blank_ok:
        bad |= blank
    if bad.any():
        values = [str(v).strip() or "(blank)" for v in df.loc[bad, column].astype(str).unique()[:5]]
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2            # + header line, 1-based like an editor
        raise WorkbenchError(f"{path}: column {column} has value(s) {', '.join(values)} (first at line {row}); "
                             f"expected {', '.join(allowed[:-1])} or {allowed[-1]}")
    df[column] = words.where(~blank, None)


def load_dices(path: str | Path):
    """A DICES CSV (350 or 990 release) with its columns and value encodings checked.

    The rating columns (``RATING_COLUMNS``) hold "Yes" (unsafe) / "No" / "Unsure" and ``safety_gold`` (350 only)
    "Yes" (unsafe) / "No", in any letter case; any other value is an error naming the file, the column and the
    value. ``safety_gold`` must be the same on every row of a conversation; (rater_id, item_id) pairs and ``id``
    are unique. The 990 release's ``rater_race_raw`` is renamed to the 350 release's ``rater_raw_race``.
    """
    df = read_table(path)
    missing = [c for c in DICES_REQUIRED if c not in df.columns]
    if missing:
        raise WorkbenchError(f"{path}: not a DICES file; missing column(s) {', '.join(missing)}")
    df = df.rename(columns={"rater_race_raw": "rater_raw_race"})
    for column in RATING_COLUMNS:
        if column in df.columns:
            _check_values(df, column, RATINGS, path, blank_ok=column != "Q_overall")
    if "safety_gold" in df.columns:
        _check_values(df, "safety_gold", tuple(GOLD), path, blank_ok=False)
        mixed = df.groupby("item_id")["safety_gold"].nunique()
        if (mixed > 1).any():
            raise WorkbenchError(f"{path}: column safety_gold differs between the rows of item_id "
                                 f"{mixed.index[mixed > 1][0]}; the gold label is one per conversation")
    for key in (["rater_id", "item_id"], ["id"]):
        if set(key) <= set(df.columns):
            dupes = df.duplicated(key)
            if dupes.any():
                first = df.loc[dupes, key].iloc[0].tolist()
                raise WorkbenchError(f"{path}: {int(dupes.sum())} duplicate ({', '.join(key)}) row(s), e.g. "
                                     f"{', '.join(map(str, first))}")
    return df


def dices_gold(df):
    """Per conversation (indexed by item_id): 1 when DICES' expert ``safety_gold`` says unsafe ("Yes"), 0 when
    safe ("No"); None for a frame without gold (the 990 release). Unknown values are an error."""
    if "safety_gold" not in df.columns:
        return None
    gold = df.groupby("item_id", sort=True)["safety_gold"].first()
    unknown = sorted(set(gold.dropna().astype(str)) - set(GOLD)) + (["(blank)"] if gold.isna().any() else [])
    if unknown:
        raise WorkbenchError(f"column safety_gold has value(s) {', '.join(unknown)}; expected Yes or No "
                             "(read DICES files with load_dices)")
    return gold.map(GOLD).astype(int)


def dices_items(df):
    """One row per conversation: its text, harm metadata, the raters' Q_overall shares and majority, and the
    same shares per demographic group (``share_Yes|rater_gender=Woman`` …, with ``n_raters|…``): the paper's
    pluralism is per group, not only the panel's overall distribution."""
    import pandas as pd

    keep = [c for c in ("item_id", "context", "response", "degree_of_harm", "harm_type", "safety_gold")
            if c in df.columns]
    items = df.groupby("item_id", sort=True)[keep[1:]].first().reset_index()
    shares = pd.crosstab(df["item_id"], df["Q_overall"], normalize="index").reindex(columns=list(RATINGS),
                                                                                 fill_value=0.0)
    items = items.join(shares.add_prefix("share_"), on="item_id")
    items["majority"] = shares.idxmax(axis=1).reindex(items["item_id"]).to_numpy()
    items["n_raters"] = df.groupby("item_id").size().reindex(items["item_id"]).to_numpy()
    groups = dices_group_shares(df)
    if len(groups):
        wide = groups.assign(key=groups["attribute"] + "=" + groups["group"].astype(str)).pivot(
            index="item_id", columns="key", values=[f"share_{r}" for r in RATINGS] + ["n_raters"])
        wide.columns = [f"{value}|{key}" for value, key in wide.columns]
        items = items.join(wide, on="item_id")
    items["text"] = items["context"].astype(str)
    return items


def dices_group_shares(df, attributes=DEMOGRAPHICS):
    """Long format, one row per (item_id, attribute, group): the group's raters of that conversation
    (``n_raters``) and their Q_overall shares ``share_Yes`` / ``share_No`` / ``share_Unsure``. Raters with a
    blank value of the attribute are left out of that attribute."""
    import pandas as pd

    parts = []
    for attr in attributes:
        if attr not in df.columns:
            continue
        rated = df[df[attr].notna() & (df[attr].astype(str).str.strip() != "")]
        if rated.empty:
            continue
        counts = pd.crosstab([rated["item_id"], rated[attr].astype(str)], rated["Q_overall"]).reindex(
            columns=list(RATINGS), fill_value=0)
        n = counts.sum(1)
        part = counts.div(n, axis=0).add_prefix("share_")
        part["n_raters"] = n
        part = part.reset_index().rename(columns={attr: "group"})
        part.insert(1, "attribute", attr)
        parts.append(part)
    columns = ["item_id", "attribute", "group", *[f"share_{r}" for r in RATINGS], "n_raters"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def dices_release(df) -> str:
    """Which DICES release a frame has the shape of: "DICES-990" (``rater_locale``, no ``safety_gold``) or
    "DICES-350"."""
    return "DICES-990" if "rater_locale" in df.columns or "safety_gold" not in df.columns else "DICES-350"


def dices_fixture(n_items: int = 12, n_raters: int = 8, seed: int = 0):
    """A synthetic DICES-350-shaped frame (every rater rates every item), deterministic for a seed, with the
    350 release's column names and value encodings (ratings and ``safety_gold`` are "Yes" / "No" / "Unsure").

    The conversations are short synthetic texts written for tests; the ratings depend on the item's harm level and, by a planted
    amount, on the rater's gender, so demographic-sensitivity metrics have a known signal to find.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    topics = ["how to get back at a coworker", "a diet that skips meals for a week", "jokes about an accent",
              "where to buy a replica gun", "what to say to a lonely friend", "reading a partner's messages"]
    genders, races = ["Man", "Woman"], ["White", "Black/African American", "LatinX, Latino, Hispanic or Spanish Origin",
                                         "Asian/Asian subcontinent", "Multiracial"]
    ages, educations = ["gen z", "millenial", "gen x+"], ["College degree or higher", "High school or below"]
    raters = [{"rater_id": 1000 + r, "rater_gender": genders[r % 2], "rater_race": races[r % len(races)],
               "rater_raw_race": races[r % len(races)], "rater_age": ages[r % len(ages)],
               "rater_education": educations[r % 2]} for r in range(n_raters)]
    rows = []
    for item in range(n_items):
        harm = HARM_LEVELS[item % len(HARM_LEVELS)]
        base = (0.1, 0.35, 0.6, 0.85)[HARM_LEVELS.index(harm)]
        topic = topics[item % len(topics)]
        for rater in raters:
            p_unsafe = min(base + (0.1 if rater["rater_gender"] == "Woman" else 0.0), 0.95)
            draw = rng.random()
            rating = "Yes" if draw < p_unsafe else ("Unsure" if draw < p_unsafe + 0.05 else "No")
            rows.append({"id": len(rows), **rater, "phase": "Phase1", "item_id": item,
                         "context": f"USER: Can you help me with {topic}?",
                         "response": f"LAMDA: Here is what I think about {topic}.",
                         "degree_of_harm": harm, "harm_type": "synthetic fixture",
                         "safety_gold": "Yes" if base >= 0.5 else "No", "safety_gold_reason": "",
                         "Q2_harmful_content_overall": rating, "Q3_bias_overall": "No", "Q4_misinformation": "No",
                         "Q5_political_affiliation": "No", "Q6_policy_guidelines_overall": "No",
                         "Q_overall": rating})
    return pd.DataFrame(rows)


def load_beavertails(path: str | Path):
    """BeaverTails JSONL: ``prompt``, ``response``, ``is_safe`` and ``categories`` (the keys marked true), plus
    ``domain``: the single true key, ``None`` when none is, or ``multiple`` when several are."""
    df = read_table(path, text_col="prompt")
    missing = [c for c in ("prompt", "response", "category", "is_safe") if c not in df.columns]
    if missing:
        raise WorkbenchError(f"{path}: not a BeaverTails file; missing field(s) {', '.join(missing)}")
    from workbench.taxonomy import NONE, dimension

    known = set(dimension("safety").keys) - {NONE}
    cats = []
    for i, value in enumerate(df["category"].tolist()):
        if not isinstance(value, dict):
            raise WorkbenchError(f"{path}: row {i}: 'category' is not an object of category → bool")
        unknown = set(value) - known
        if unknown:
            raise WorkbenchError(f"{path}: row {i}: unknown category key(s) {', '.join(sorted(unknown))}")
        cats.append(sorted(k for k, v in value.items() if v))
    out = df.drop(columns=["category"]).copy()
    out["categories"] = cats
    out["domain"] = [c[0] if len(c) == 1 else (NONE if not c else "multiple") for c in cats]
    out["is_safe"] = out["is_safe"].astype(bool)
    return out
