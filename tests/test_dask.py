"""Data parallelism of the sharded pipelines (workbench.pipeline.dask_client): two local workers, each with its
own engine, give exactly the single-process result; the other addresses fail with one clear line."""
from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.pipeline import Pipeline, Stage, dask_client
from workbench.seeding import row_seed


def _respond(frame, ctx):
    """A sampled engine call per shard, seeds from the row ids (as the builder's stages derive them)."""
    from workbench.engines import load_engine

    engine = load_engine("tiny-llama", ctx.config.get("engine"))
    seeds = [row_seed(ctx.config["seed"], str(i), 0, 0) for i in frame["id"]]
    out = engine.generate(frame["text"].tolist(), seeds=seeds, max_new_tokens=5, temperature=0.7, top_p=0.9)
    return frame.assign(out=[row[0] for row in out])


def test_two_local_workers_give_the_single_process_result(tmp_path):
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(6)], "text": [f"Tell me about topic {i}" for i in range(6)]})
    stages = [Stage("respond", _respond)]
    config = {"engine": "hf"}
    alone = Pipeline(stages, tmp_path / "alone", config=config, profile="default", seed=4, shard_size=2).run(frame)
    with dask_client("local:2") as client:
        spread = Pipeline(stages, tmp_path / "dask", config=config, profile="default", seed=4,
                          shard_size=2).run(frame, client=client)
    assert len(set(spread["out"])) > 1
    pd.testing.assert_frame_equal(alone, spread)


def test_dask_addresses_are_checked():
    if importlib.util.find_spec("dask_cuda") is None:
        with pytest.raises(WorkbenchError, match="--dask cuda needs dask-cuda"):
            with dask_client("cuda"):
                pass
    for bad in ("local:0", "my-cluster"):
        with pytest.raises(WorkbenchError, match=f"--dask {bad}"):
            with dask_client(bad):
                pass
