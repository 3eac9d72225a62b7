"""Streamlit entry point: ``streamlit run dashboard/app.py``.

Pages come from ``dashboard.registry.discover()``; this file only wires them into ``st.navigation``.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/ on the path, not the repository root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import cache  # noqa: E402
from dashboard.components import banner  # noqa: E402
from dashboard.registry import PAGES, SECTIONS, discover  # noqa: E402

st.set_page_config(page_title="Alignment & safety workbench", page_icon=":material/science:", layout="wide")
cache.startup()

sections: dict[str, list] = {}
for view in discover():
    page = st.Page(view.render, title=view.title, icon=view.icon, url_path=view.key, default=view.default)
    PAGES[view.key] = page
    sections.setdefault(view.section, []).append(page)

navigation = st.navigation({s: sections[s] for s in SECTIONS + tuple(sections) if s in sections})
banner()
navigation.run()
