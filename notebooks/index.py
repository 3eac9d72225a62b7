# %% [markdown]
# # The workbench's notebooks
#
# **Run time:** a few seconds on the default profile (a 2-core CPU); `SMOKE = True`: the same.
#
# One notebook per paper, listed below from the paper registry (`workbench.papers`) with what each reproduces and
# how long it runs, as its first cell says. Click a name to open it: the notebooks are jupytext percent-format `.py`
# files that JupyterLab opens as notebooks (their outputs go into a paired `.ipynb` that git ignores). Each runs
# top to bottom on the **default** profile offline; set `SMOKE = True` in its parameters cell for a quick pass on
# a few items (what the test suite runs), or `PROFILE = "paper"` on a GPU with the papers' models in the local
# cache. `00_tour.py` shows the pieces every notebook builds on: the paper registry, the model zoo, the artifact
# store and the figure helpers.

# %% tags=["parameters"]
SMOKE = False

# %%
import re

import pandas as pd
from IPython.display import Markdown

from workbench.papers import all_papers
from workbench.paths import REPO_ROOT

# The first markdown cell of each paper's notebook: its "**Reproduces:**" paragraph and "**Run time:**" line.
first_cells = {p.id: (REPO_ROOT / p.notebook).read_text(encoding="utf-8").split("\n# %%", 1)[0]
               for p in all_papers()}
rows = [{"paper": p.id, "name": p.short_name, "notebook": p.notebook.split("/")[-1], "title": p.title,
         "reproduces": " ".join(re.search(r"\*\*Reproduces:\*\* (.*?)(?:\n#\n|\Z)", first_cells[p.id], re.S)
                                .group(1).replace("\n# ", " ").split()),
         "run time": re.search(r"\*\*Run time:\*\* (.*)", first_cells[p.id]).group(1)}
        for p in all_papers()]
papers = pd.DataFrame(rows)
Markdown("\n".join(f"- **{r['paper']}** [{r['name']}]({r['notebook']}) — {r['title']}. *{r['run time']}*"
                   for r in rows))

# %% [markdown]
# What each notebook reproduces, as its first cell says:

# %%
pd.set_option("display.max_colwidth", None)
papers[["paper", "notebook", "reproduces", "run time"]]
