"""How long loading SmolLM2-135M-Instruct takes: from the wheel's GGUF (dequantized on every load, the naive way)
versus from the workbench's safetensors cache, measured side by side in this process.

    python benchmarks/model_load.py [--repeats 3]

Ends with one `figure_name: value` line per figure.
"""
from __future__ import annotations

import argparse
import statistics
import time

from transformers import AutoModelForCausalLM
from transformers.utils import logging as hf_logging

from workbench.models import get_spec
from workbench.models.sources import smollm2_gguf_path, local_path


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    hf_logging.disable_progress_bar()

    cached = local_path(get_spec("smollm2-135m-instruct"))   # converts once if needed (not timed)
    gguf = smollm2_gguf_path()
    gguf_s = timed(lambda: AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name), args.repeats)
    cached_s = timed(lambda: AutoModelForCausalLM.from_pretrained(cached), args.repeats)
    print(f"median of {args.repeats} loads on the CPU: GGUF {gguf_s:.2f} s, cached safetensors {cached_s:.3f} s")
    print(f"gguf_load_s: {gguf_s:.3f}")
    print(f"cached_load_s: {cached_s:.3f}")
    print(f"speedup_cached_vs_gguf: {gguf_s / cached_s:.1f}")


if __name__ == "__main__":
    main()
