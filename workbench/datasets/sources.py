"""Loaders for the public datasets behind P1/P2/P4, in their released formats (local files only).

* DICES-350 / DICES-990 (one CSV row per rater × conversation; demographics kept): ``load_dices``,
  ``dices_items`` (one row per conversation with the raters' Q_overall distribution), and ``dices_fixture``
  (a small synthetic frame with DICES-350's exact column names, for tests and the smoke notebooks);
* BeaverTails JSONL (``prompt``, ``response``, ``category`` {14 keys → bool}, ``is_safe``): ``load_beavertails``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.datasets.tables import read_table

DICES_REQUIRED = ("rater_id", "rater_gender", "rater_race", "rater_age", "rater_education", "item_id", "context",
                  "response", "degree_of_harm", "Q_overall")
DICES_OPTIONAL = ("rater_raw_race", "rater_race_raw", "rater_locale", "phase", "harm_type", "safety_gold",
                  "Q2_harmful_content_overall", "Q3_bias_overall", "Q3_unfair_bias_overall", "Q4_misinformation",
                  "Q4_misinformation_overall")
DEMOGRAPHICS = ("rater_gender", "rater_race", "rater_age", "rater_education")
RATINGS = ("Yes", "No", "Unsure")               # Q_overall: "is the conversation unsafe?"
HARM_LEVELS = ("Benign", "Debatable", "Moderate", "Extreme")


def load_dices(path: str | Path):
    """A DICES CSV (350 or 990 release) with its columns checked and ratings normalised to Yes / No / Unsure.

    The 990 release's ``rater_race_raw`` is renamed to the 350 release's ``rater_raw_race``.
    """
    df = read_table(path)
    missing = [c for c in DICES_REQUIRED if c not in df.columns]
    if missing:
        raise WorkbenchError(f"{path}: not a DICES file; missing column(s) {', '.join(missing)}")
    df = df.rename(columns={"rater_race_raw": "rater_raw_race"})
    rating = df["Q_overall"].astype(str).str.strip().str.capitalize()
    bad = sorted(set(rating) - set(RATINGS))
    if bad:
        raise WorkbenchError(f"{path}: Q_overall has value(s) {', '.join(bad[:5])}; expected Yes, No or Unsure")
    df["Q_overall"] = rating
    dupes = df.duplicated(["rater_id", "item_id"]).sum()
    if dupes:
        raise WorkbenchError(f"{path}: {dupes} duplicate (rater_id, item_id) row(s)")
    return df


def dices_items(df):
    """One row per conversation: its text, harm metadata, and the raters' Q_overall shares and majority."""
    import pandas as pd

    keep = [c for c in ("item_id", "context", "response", "degree_of_harm", "harm_type", "safety_gold")
            if c in df.columns]
    items = df.groupby("item_id", sort=True)[keep[1:]].first().reset_index()
    shares = pd.crosstab(df["item_id"], df["Q_overall"], normalize="index").reindex(columns=list(RATINGS),
                                                                                 fill_value=0.0)
    items = items.join(shares.add_prefix("share_"), on="item_id")
    items["majority"] = shares.idxmax(axis=1).reindex(items["item_id"]).to_numpy()
    items["n_raters"] = df.groupby("item_id").size().reindex(items["item_id"]).to_numpy()
    items["text"] = items["context"].astype(str)
    return items


def dices_fixture(n_items: int = 12, n_raters: int = 8, seed: int = 0):
    """A synthetic DICES-350-shaped frame (every rater rates every item), deterministic for a seed.

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
            rows.append({**rater, "phase": "Phase1", "item_id": item,
                         "context": f"USER: Can you help me with {topic}?",
                         "response": f"LAMDA: Here is what I think about {topic}.",
                         "degree_of_harm": harm, "harm_type": "synthetic fixture",
                         "safety_gold": "Unsafe" if base >= 0.5 else "Safe",
                         "Q2_harmful_content_overall": rating, "Q3_bias_overall": "No", "Q4_misinformation": "No",
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
