"""`workbench info`, `workbench papers [list]`, `workbench claims [P…]`, `workbench build TARGET`,
`workbench models list|prepare` and `workbench rehearse [P…]`: the project-wide commands.

Registered by ``workbench.cli.main``; the heavy imports live inside the commands."""
from __future__ import annotations

import argparse

from workbench import WorkbenchError, __version__
from workbench.cli.common import add_json, command, group, note, print_json, print_table, progress, wants_json


def _info_args(p: argparse.ArgumentParser) -> None:
    add_json(p)


@command("info", "version, device, active profile and offline availability of its models", _info_args)
def _info(args) -> int:
    import torch

    from workbench.models import availability, get_spec
    from workbench.paths import home
    from workbench.profiles import active_profile, pick_device

    profile = active_profile()
    models = []
    for name in profile.model_names():
        spec = get_spec(name)
        state = availability(spec)
        roles = [r for r, names in profile.roles.items() if name in names]
        models.append({"model": name, "role": spec.role, "size": spec.size_label, "available": state.available,
                       "prepared": state.prepared, "used_as": roles})
    if wants_json(args):
        print_json({"version": __version__, "torch": torch.__version__, "device": str(pick_device()),
                    "profile": profile.name, "profile_description": profile.description, "home": str(home()),
                    "models": models})
        return 0
    print(f"workbench {__version__}  (torch {torch.__version__})")
    print(f"device:   {pick_device()}")
    print(f"profile:  {profile.name} — {profile.description}")
    print(f"home:     {home()}")
    rows = [{**m, "available": "yes" if m["available"] else "NO", "prepared": "yes" if m["prepared"] else "no",
             "used as": ", ".join(m["used_as"])} for m in models]
    print()
    print_table(rows, ["model", "role", "size", "available", "prepared", "used as"])
    return 0


def _papers_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=["list"], default="list", help="what to do with the papers")
    add_json(p)


@command("papers", "the ten papers: id, short name, title", _papers_args)
def _papers(args) -> int:
    from workbench.papers import all_papers

    rows = [{"id": p.id, "short name": p.short_name, "arXiv": p.arxiv, "title": p.title} for p in all_papers()]
    if wants_json(args):
        print_json([{"id": r["id"], "short_name": r["short name"], "arxiv": r["arXiv"], "title": r["title"]}
                    for r in rows])
        return 0
    print_table(rows, ["id", "short name", "arXiv", "title"])
    return 0


def _claims_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("papers", nargs="*", metavar="PAPER", help="paper ids (P1 … P10; default: all ten)")
    out = p.add_mutually_exclusive_group()
    add_json(out, "every row with all its fields")
    out.add_argument("--md", action="store_true", help="a Markdown table")
    p.add_argument("--status", choices=["comparable", "not comparable", "not measured"],
                   help="only the rows of this status")


@command("claims", "the claims ledger: each abstract's headline claims beside ours (read from built artifacts), "
                   "with status, reason, profile, models, data and artifact", _claims_args)
def _claims(args) -> int:
    from workbench.claims import ledger, ledger_markdown, status_counts
    from workbench.profiles import active_profile

    rows = ledger(args.papers or None, profile=active_profile().name)
    if args.status:
        rows = [r for r in rows if r.status == args.status]
    if args.json:
        print_json({"profile": active_profile().name, "counts": status_counts(rows),
                    "claims": [r.to_json() for r in rows]})
        return 0
    if args.md:
        print(ledger_markdown(rows))
        return 0
    print_table([{"paper": r.paper, "metric": r.metric, "claim": r.claim, "ours": r.ours, "status": r.status,
                  "why": r.reason if len(r.reason) < 70 else r.reason[:67] + "..."} for r in rows],
                ["paper", "metric", "claim", "ours", "status", "why"])
    counts = status_counts(rows)
    print("\n" + ", ".join(f"{n} {s}" for s, n in counts.items()) + f" (profile {active_profile().name})")
    return 0


group("models", "the model zoo: `models list`, `models prepare`")


def _models_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", dest="filter_profile", choices=["default", "paper", "test"],
                   help="only the models of this profile (here --profile filters the list; it does not "
                        "choose the active profile)")
    add_json(p)


@command("models list", "list the registered models", _models_args)
def _models(args) -> int:
    from workbench.models import availability, list_specs

    rows = []
    for spec in list_specs(profile=args.filter_profile):
        state = availability(spec)
        rows.append({"name": spec.name, "role": spec.role, "profile": spec.profile, "size": spec.size_label,
                     "source": spec.source, "available": state.available, "detail": state.detail})
    if wants_json(args):
        print_json(rows)
        return 0
    rows = [{**r, "available": "yes" if r["available"] else "no",
             "detail": r["detail"] if len(r["detail"]) < 60 else r["detail"][:57] + "..."} for r in rows]
    print_table(rows, ["name", "role", "profile", "size", "source", "available", "detail"])
    return 0


def _prepare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("steps", nargs="*", metavar="STEP",
                   help="steps to prepare: models, deepfake, memes, tiny-clap, tiny-clap-judge, tiny-clap-small "
                        "(default: the profile's zoo models only)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--models", nargs="*", help="zoo model names (default: the profile's offline models)")
    which.add_argument("--all", action="store_true", help="every step (what a first use would otherwise train)")
    which.add_argument("--demo", action="store_true",
                       help="the demo queue: every paper's smoke-size build (quick pass), then --all, then every "
                            "paper's full build (replacing the smoke-size artifacts); items already done are skipped")
    p.add_argument("--background", action="store_true",
                   help="with --demo: start the queue as the dashboard's background job 'demo' (Home shows it) and "
                        "return at once")
    p.add_argument("--papers", help="with --demo: only these papers, comma-separated (default: all ten)")
    p.add_argument("--smoke", action="store_true", help="the tiny configurations of the tests and smoke builds")
    p.add_argument("--dry-run", action="store_true", help="say what would be built or run; build nothing")
    add_json(p, "the models prepared now and those that were ready; with steps or --all, each step's status "
                "(ready, built, would build), time, estimate and folder")


@command("models prepare", "convert the profile's zoo models once; with --all also train every locally trained "
                           "default model (what a first use would train; resumable, keyed by configuration), or "
                           "run the demo queue that `make demo` starts (--demo); safe to re-run", _prepare_args)
def _prepare(args) -> int:
    from workbench import prepare as prep
    from workbench.cli.common import message
    from workbench.profiles import active_profile

    if args.models is not None and (args.steps or args.smoke or args.dry_run):
        raise WorkbenchError("--models prepares zoo models only; it takes no steps, --smoke or --dry-run")
    if args.background and not args.demo:
        raise WorkbenchError("--background goes with --demo")
    if args.papers and not args.demo:
        raise WorkbenchError("--papers goes with --demo")
    profile = active_profile().name
    if not (args.demo or args.all or args.steps):
        if args.smoke or args.dry_run:
            raise WorkbenchError("--smoke and --dry-run go with steps, --all or --demo")
        return _prepare_zoo(args)
    if args.demo:
        if args.steps or args.smoke:
            raise WorkbenchError("--demo takes no steps and no --smoke (its quick pass is smoke size)")
        papers = _demo_papers(args.papers)
        if args.background and not args.dry_run:
            job = prep.start_queue(profile, papers)
            note(f"demo queue running in the background (job '{job.paper}', pid {job.pid}, log {job.log}); the "
                 "dashboard's Home shows its progress")
            return 0
        items = prep.run_queue(prep.demo_queue(papers), profile, dry_run=args.dry_run,
                               path=None if args.dry_run else prep.state_path(), say=note)
        if wants_json(args):
            print_json([vars(i) for i in items])
        return 1 if any(i.status == "failed" for i in items) else 0
    steps = prep.select(prep.prepare_steps(smoke=args.smoke), None if args.all else args.steps)
    with progress("preparing" + (" (dry run)" if args.dry_run else "")) as update:
        rows = prep.prepare(steps, dry_run=args.dry_run, progress=update, say=message)
    if wants_json(args):
        print_json({"profile": profile, "smoke": args.smoke, "steps": rows})
        return 0
    print_table([{**r, "seconds": f"{r['seconds']:.0f}" if r["status"] == "built" else "",
                  "estimate": prep.estimate_text(r["estimate_s"])} for r in rows],
                ["step", "status", "seconds", "estimate", "description"])
    built = sum(r["status"] == "built" for r in rows)
    print(f"{built} step(s) built now" if built else
          "nothing to do: every step is ready" if all(r["status"] == "ready" for r in rows) else
          "dry run: nothing built")
    return 0


def _prepare_zoo(args) -> int:
    from workbench.build import prepare_models
    from workbench.profiles import active_profile

    names = args.models or active_profile().model_names()
    with progress("preparing models") as update:
        done = prepare_models(names, update)
    if wants_json(args):
        print_json({"prepared": done, "ready": [n for n in names if n not in done]})
        return 0
    print(f"prepared {len(done)} model(s) now; {len(names) - len(done)} were ready" if done
          else f"all {len(names)} model(s) ready; nothing to do")
    return 0


def _demo_papers(text: str | None) -> list[str] | None:
    if not text:
        return None
    from workbench.papers import get_paper

    return [get_paper(p.strip()).id for p in text.split(",") if p.strip()]


def _build_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="a paper id (P1 …: its dashboard artifacts) or a dataset: "
                                  "savacu, misaligntrade, demo-safety")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (seconds, for checks)")
    p.add_argument("--force", action="store_true", help="rebuild artifacts that exist (papers)")
    p.add_argument("--only", metavar="ARTIFACT[,ARTIFACT]",
                   help="papers: build only these artifacts (an unknown name lists the paper's; default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="papers: also build seeds SEED+1 … SEED+N−1, each in its own store; `workbench claims` "
                        "then reports the mean over the seeds and their spread")
    p.add_argument("--roles", metavar="FILE", help="a TOML roles file: role = \"model\" (a zoo name or hf:ORG/NAME), "
                                                 "overriding the profile's and the paper's own models")
    p.add_argument("--source", help="datasets: the prompt table (DICES CSV for demo-safety)")
    p.add_argument("--text-col", help="datasets: the prompt column (default: text or prompt)")
    p.add_argument("--limit", type=int, help="datasets: only the first N source rows")
    p.add_argument("--target-count", type=int, default=100,
                   help="datasets: expand domains below this many prompts")
    p.add_argument("--tau", type=int, default=10, help="datasets: SimHash distance threshold")
    p.add_argument("--k", type=int, help="datasets: candidate responses per side and prompt "
                                         "(default: savacu 4, misaligntrade 2)")
    p.add_argument("--max-iterations", type=int, default=2,
                   help="datasets: critique-guided regenerations of a rejected candidate")
    p.add_argument("--response-tokens", type=int, default=96, help="datasets: new tokens per response")
    p.add_argument("--respond-limit", type=int,
                   help="datasets: generate responses for the first N kept prompts only (0: none; default all)")
    p.add_argument("--contrastive-judge", action="store_true",
                   help="datasets: accept a candidate when it fits its side's criteria better than the other "
                        "side's (for small judges; see workbench.llm.rejection.lm_judge)")
    p.add_argument("--out", help="datasets: output folder (re-running it resumes)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="datasets: run sharded stages on dask: 'local' (two local CPU workers; local:N for N), "
                        "'cuda' (one worker per GPU, needs dask-cuda) or a scheduler address tcp://HOST:PORT")
    add_json(p, "what was built (papers: the builders run per seed; datasets: the construction funnel)")


@command("build", "build a paper's artifacts, or a dataset (resumable) on the active profile", _build_args)
def _build(args) -> int:
    from workbench.build import BuildContext, build_paper, discover
    from workbench.io import ArtifactStore
    from workbench.papers import get_paper
    from workbench.profiles import active_profile, load_roles
    from workbench.taxonomy.construct import DATASETS, ResponseConfig, build_dataset

    profile = active_profile().with_roles(load_roles(args.roles) if args.roles else {})
    if args.target in DATASETS:
        if not args.source or not args.out:
            raise WorkbenchError(f"building {args.target} needs --source FILE and --out DIR")
        if args.limit is not None and args.limit < 1:
            raise WorkbenchError("--limit must be at least 1")
        for flag, value, low in (("--k", args.k, 1), ("--max-iterations", args.max_iterations, 0),
                                 ("--response-tokens", args.response_tokens, 1),
                                 ("--respond-limit", args.respond_limit, 0)):
            if value is not None and value < low:
                raise WorkbenchError(f"{flag} must be at least {low}")
        responses = ResponseConfig(args.k, args.max_iterations, args.response_tokens, args.respond_limit,
                                   contrastive_judge=args.contrastive_judge)
        from contextlib import nullcontext

        from workbench.pipeline import dask_client

        with progress(f"building {args.target}") as update:
            with dask_client(args.dask) if args.dask else nullcontext() as client:
                funnel = build_dataset(args.target, args.source, args.out, profile=profile, limit=args.limit,
                                       text_col=args.text_col, target=args.target_count, tau=args.tau,
                                       seed=args.seed, responses=responses, progress=update, client=client)
        line = (f"{args.target}: {funnel['source_rows']:,} source prompts → +{funnel['expanded']:,} expanded → "
                f"−{funnel['removed_by_dedup']:,} near-duplicates → {funnel['kept']:,} kept")
        if "generated" in funnel:
            line += (f" → {funnel['generated']:,} candidate responses for {funnel['responded_prompts']:,} prompts: "
                     f"{funnel['accepted_stage1']:,} accepted in stage 1, {funnel['recovered_stage2']:,} recovered "
                     f"in stage 2, {funnel['dropped']:,} dropped")
        if wants_json(args):
            print_json({"dataset": args.target, "out": args.out, "funnel": funnel})
            return 0
        print(f"{line}; wrote {args.out}")
        return 0
    discover()
    paper = get_paper(args.target)
    if args.seeds < 1:
        raise WorkbenchError("--seeds must be at least 1")
    from workbench.build import select_builders
    from workbench.cli.progress import duration
    from workbench.io import seed_store

    only = None if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    select_builders(paper.id, only)                      # an unknown artifact name: one line, before any work

    built = []
    for n in range(args.seeds):
        seed = args.seed + n
        store = ArtifactStore() if n == 0 else seed_store(seed)
        label = paper.id if n == 0 else f"{paper.id} (seed {seed})"
        _say_build_estimate(paper.id, label, store, profile.name, args, only)
        seconds: dict[str, float] = {}
        with progress(f"building {label}") as update:
            ran = build_paper(paper.id, BuildContext(store, profile, seed, args.smoke, update), force=args.force,
                              only=only, seconds=seconds)
        built.append({"paper": paper.id, "seed": seed, "store": str(store.root), "built": list(ran),
                      "seconds": seconds})
        if not wants_json(args):
            print(f"{label}: built {', '.join(f'{n} ({duration(seconds[n])})' if n in seconds else n for n in ran)}"
                  if ran
                  else f"{label}: every artifact was already built")
    if wants_json(args):
        print_json({"profile": profile.name, "smoke": args.smoke, "seeds": built})
    return 0


def _say_build_estimate(paper: str, label: str, store, profile: str, args, only=None) -> None:
    """One line before a build that has work to do: how many artifacts, at which size, and how long it takes."""
    from workbench.build import build_status
    from workbench.cli.common import message
    from workbench.prepare import BUILD_ESTIMATES_S, estimate_text

    status = {n: b for n, b in build_status(paper, profile, store).items() if only is None or n in only}
    pending = len(status) if args.force else sum(not built for built in status.values())
    if pending:
        seconds = BUILD_ESTIMATES_S.get((paper, args.smoke)) if only is None else None     # a whole paper's
        message(f"{label}: building {pending} artifact(s){' at smoke size' if args.smoke else ''} "
                f"({estimate_text(seconds)} on a 2-core CPU{', an estimate' if seconds else ''})")


def _rehearse_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("papers", nargs="*", metavar="PAPER", help="paper ids (P1 …) or 'all' (default: all)")
    p.add_argument("--size", choices=["tiny", "full"], default="tiny",
                   help="tiny: real architectures shrunk to run on a CPU in seconds; full: the real sizes (a GPU)")
    p.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], default="bfloat16",
                   help="the stand-ins' weights dtype")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights and of the builds")
    add_json(p, "the report")


@command("rehearse", "run each paper's paper-profile pipeline end to end on random-weight models of the papers' "
                     "architectures (no downloads); report ok, time, memory and throughput per paper",
         _rehearse_args)
def _rehearse(args) -> int:
    from workbench.rehearse import report_path, rehearse

    papers = [] if not args.papers or [p.lower() for p in args.papers] == ["all"] else args.papers
    if "all" in [p.lower() for p in papers]:
        raise WorkbenchError("give paper ids or 'all', not both")
    with progress(f"rehearsing ({args.size}, {args.dtype})") as update:
        report = rehearse(papers or None, size=args.size, dtype=args.dtype, seed=args.seed, progress=update)
    ran = [r for r in report["papers"] if r["paper"] in report["ran"]]
    if args.json:
        print_json(report)
    else:
        rows = []
        for r in ran:
            rate = (f"{r['tokens_per_s']:,.0f} tok/s" if r["tokens_per_s"] else
                    f"{r['items_per_s']:,.1f} items/s" if r["items_per_s"] else "—")
            gpu = "—" if r["peak_gpu_mb"] is None else f"{r['peak_gpu_mb']:,.0f}"
            rows.append({"paper": r["paper"], "ok": "ok" if r["ok"] else "FAILED", "wall s": f"{r['wall_s']:.1f}",
                         "host MB": f"{r['peak_host_mb']:,.0f}", "GPU MB": gpu, "throughput": rate,
                         "models": ", ".join(r["models"]) or "—"})
        print(f"rehearsal: {args.size} stand-ins in {args.dtype} on {report['device']} (random weights, not results)")
        print_table(rows, ["paper", "ok", "wall s", "host MB", "GPU MB", "throughput", "models"])
        for r in ran:
            if r["error"]:
                print(f"error: {r['error']}")
        print(f"report: {report_path(args.size, args.dtype)}")
    return 0 if all(r["ok"] for r in ran) else 1
