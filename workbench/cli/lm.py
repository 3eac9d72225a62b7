"""`workbench lm generate PROMPT` (formerly `workbench generate`): completions from a causal LM, through the engine
that ``--engine`` picks (``workbench.engines``).

Registered by ``workbench.cli.main``; the model libraries are imported inside the command."""
from __future__ import annotations

import argparse
import sys

from workbench import WorkbenchError
from workbench.cli.common import command, group, print_json

group("lm", "causal language models: `lm generate PROMPT`")


def _generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", help="the user message")
    p.add_argument("--model", help="model name (default: the profile's generator)")
    p.add_argument("--system", help="system message for instruct models")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling when --temperature > 0 (1 = off)")
    p.add_argument("--n", type=int, default=1, help="completions to sample (sample j > 0 from a seed derived "
                                                    "from --seed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true",
                   help="one JSON object: model, engine, prompt, settings, completions")


@command("lm generate", "generate a completion (chat template applied for instruct models)", _generate_args)
def _generate(args) -> int:
    from workbench.engines import load_engine
    from workbench.models import get_spec
    from workbench.profiles import active_profile

    name = args.model or active_profile().model_for("generator")
    spec = get_spec(name)
    if spec.role != "causal-lm":
        raise WorkbenchError(f"model '{name}' is a {spec.role}, not a causal LM")
    if args.max_new_tokens < 1:
        raise WorkbenchError("--max-new-tokens must be at least 1")
    if args.n < 1:
        raise WorkbenchError("--n must be at least 1")
    if args.temperature < 0 or not 0 < args.top_p <= 1:
        raise WorkbenchError("--temperature must be at least 0 and --top-p in (0, 1]")
    engine = load_engine(name, progress=lambda m: print(f"[{m}]", file=sys.stderr))
    settings = {"system": args.system, "max_new_tokens": args.max_new_tokens, "temperature": args.temperature,
                "top_p": args.top_p, "n": args.n, "seed": args.seed}
    completions = engine.generate([args.prompt], n=args.n, seeds=args.seed, system=args.system,
                                  max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                  top_p=args.top_p)[0]
    if args.json:
        print_json({"model": engine.name, "engine": engine.kind, "prompt": args.prompt, **settings,
                    "completions": completions})
    elif args.n == 1:
        print(completions[0])
    else:
        for j, text in enumerate(completions):
            print(f"--- sample {j + 1} of {args.n}\n{text}")
    return 0
