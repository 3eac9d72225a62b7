"""`workbench lm generate PROMPT` (formerly `workbench generate`): a completion from a causal LM.

Registered by ``workbench.cli.main``; the model libraries are imported inside the command."""
from __future__ import annotations

import argparse
import sys

from workbench import WorkbenchError
from workbench.cli.common import command, group

group("lm", "causal language models: `lm generate PROMPT`")


def _generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", help="the user message")
    p.add_argument("--model", help="model name (default: the profile's generator)")
    p.add_argument("--system", help="system message for instruct models")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--seed", type=int, default=0)


@command("lm generate", "generate a completion (chat template applied for instruct models)", _generate_args)
def _generate(args) -> int:
    from workbench.llm import generate
    from workbench.models import get_spec, load
    from workbench.profiles import active_profile

    name = args.model or active_profile().model_for("generator")
    spec = get_spec(name)
    if spec.role != "causal-lm":
        raise WorkbenchError(f"model '{name}' is a {spec.role}, not a causal LM")
    if args.max_new_tokens < 1:
        raise WorkbenchError("--max-new-tokens must be at least 1")
    lm = load(name, progress=lambda m: print(f"[{m}]", file=sys.stderr))
    print(generate(lm, args.prompt, system=args.system, max_new_tokens=args.max_new_tokens,
                   temperature=args.temperature, seed=args.seed))
    return 0
