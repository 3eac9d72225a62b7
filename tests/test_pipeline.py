import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.pipeline import Pipeline, Stage


def _double(frame, ctx):
    return frame.assign(y=frame["x"] * 2, seed=ctx.seed)


def _drop_odd(frame, ctx):
    return frame[frame["x"] % 2 == 0]


STAGES = [Stage("double", _double), Stage("filter", _drop_odd, sharded=False), Stage("again", _double)]


def _input(n=23):
    return pd.DataFrame({"x": range(n)})


def test_runs_and_reruns_without_recomputing(tmp_path):
    out = Pipeline(STAGES, tmp_path / "run", profile="default", shard_size=5).run(_input())
    assert out["x"].tolist() == list(range(0, 23, 2)) and (out["y"] == out["x"] * 2).all()
    calls = []
    counted = [Stage(s.name, lambda f, c, fn=s.fn: calls.append(1) or fn(f, c), s.sharded) for s in STAGES]
    again = Pipeline(counted, tmp_path / "run", profile="default", shard_size=5).run(_input())
    pd.testing.assert_frame_equal(out, again)
    assert calls == []                                         # everything was already done


def test_interrupted_run_resumes_to_the_identical_result(tmp_path):
    reference = Pipeline(STAGES, tmp_path / "ref", profile="default", shard_size=5).run(_input())
    seen = {"n": 0}

    def flaky(frame, ctx):
        seen["n"] += 1
        if seen["n"] == 4:
            raise RuntimeError("killed")
        return _double(frame, ctx)

    with pytest.raises(RuntimeError):
        Pipeline([Stage("double", flaky)] + STAGES[1:], tmp_path / "run", profile="default", shard_size=5).run(
            _input())
    done = sorted(p.name for p in (tmp_path / "run" / "double").iterdir())
    assert done == ["shard-00000", "shard-00001", "shard-00002"]
    resumed = Pipeline(STAGES, tmp_path / "run", profile="default", shard_size=5).run(_input())
    pd.testing.assert_frame_equal(resumed, reference)


def test_another_configuration_is_refused(tmp_path):
    Pipeline(STAGES, tmp_path / "run", profile="default", shard_size=5).run(_input())
    with pytest.raises(WorkbenchError, match="another configuration or input"):
        Pipeline(STAGES, tmp_path / "run", profile="default", shard_size=7).run(_input())
    with pytest.raises(WorkbenchError, match="another configuration or input"):
        Pipeline(STAGES, tmp_path / "run", profile="default", shard_size=5).run(_input(30))


def test_kill_minus_nine_then_resume(tmp_path):
    """A real SIGKILL in the middle of a run: the rerun finishes with exactly the uninterrupted result."""
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        import pandas as pd
        from workbench.pipeline import Pipeline, Stage

        def slow(frame, ctx):
            time.sleep(float(sys.argv[2]))
            return frame.assign(y=frame["x"] ** 2 + ctx.seed)

        def keep(frame, ctx):
            return frame[frame["y"] % 3 != 0]

        if __name__ == "__main__":
            out = Pipeline([Stage("slow", slow), Stage("keep", keep, sharded=False)], sys.argv[1],
                           profile="default", shard_size=4).run(pd.DataFrame({{"x": range(40)}}))
            out.to_json(sys.argv[1] + ".result.json")
    """))
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    subprocess.run([sys.executable, str(script), str(tmp_path / "ref"), "0"], check=True, env=env, timeout=120)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "run"), "0.3"], env=env)
    shards = tmp_path / "run" / "slow"
    deadline = time.time() + 60
    while time.time() < deadline and (not shards.exists() or len(list(shards.glob("shard-*"))) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(list(shards.glob("shard-*")))
    assert 3 <= partial < 10                                   # killed midway
    subprocess.run([sys.executable, str(script), str(tmp_path / "run"), "0"], check=True, env=env, timeout=120)
    ref = pd.read_json(str(tmp_path / "ref") + ".result.json")
    got = pd.read_json(str(tmp_path / "run") + ".result.json")
    pd.testing.assert_frame_equal(got, ref)


def test_stages_run_unchanged_on_a_local_dask_cluster(tmp_path):
    import cloudpickle
    from distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])   # the test's stage functions travel by value
    reference = Pipeline(STAGES, tmp_path / "ref", profile="default", shard_size=5).run(_input())
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        out = Pipeline(STAGES, tmp_path / "dask", profile="default", shard_size=5).run(_input(), client=client)
    pd.testing.assert_frame_equal(out, reference)
    assert len(list((tmp_path / "dask" / "double").glob("shard-*"))) == 5
