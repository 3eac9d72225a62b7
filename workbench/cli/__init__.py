"""The ``workbench`` command line, one module per capability.

``main.py`` builds the parser (global options, old spellings, errors); ``common.py`` holds the command registry
and the helpers every command uses (tables, JSON output, messages, progress, which ``progress.py`` draws);
``core``, ``notebook``, ``lm``, ``taxonomy``, ``dedup``, ``datasets``, ``evaluate``, ``experts``, ``steer``,
``deepfake``, ``caption`` and ``meme`` register their commands. Run it as ``workbench``, ``python -m workbench`` or
``workbench.cli.main.main(argv)``.
"""
