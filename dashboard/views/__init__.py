"""Dashboard views; each module defines ``VIEW = View(...)`` (see ``dashboard.registry``)."""
