"""Score models on the project's validation sets, and apply the rule new weights ship by.

The rule (`pretrained/MODEL_CARD.md`): a candidate replaces the shipped one-side-light model only
if it is better on every synthetic validation set. The synthetic sets are the ones below, made by
`normalgen synth` with these settings (every one with `--light canonical`: a key light within 45°
of +X, which each photo's `index.tsv` row names). blender-dev and the other-lights set are scored
and reported, per kind, but never used to choose. Every photo is read whole and told its light's
side from its index.tsv, through the same call `normalgen convert` makes.
"""

from __future__ import annotations

from pathlib import Path

from .evaluate import evaluate, model_predictor

# name -> `write_dataset` settings. The names are the folders the sessions' logs quote.
SYNTHETIC_SETS = {
    "canon2b_val": dict(count=96, size=256, seed=2),
    "canonP_val": dict(count=96, size=256, seed=2, albedo_mode="plain"),
    "canonLb_val": dict(count=48, size=512, seed=10),
    "broad2_val": dict(count=96, size=256, seed=2, broad=1.0),
    "broadL_val": dict(count=48, size=512, seed=10, broad=1.0),
    "steep2_val": dict(count=96, size=256, seed=94, steep=1.0),
}


def is_complete(folder: Path, name: str) -> bool:
    """Whether `folder` holds every pair of set `name`, each with its row in index.tsv. Raises
    ValueError where it holds something else: pairs of another seed, more pairs than the set, or
    (by its synth.json; a folder from before that record is not checked for this) other settings."""
    from . import synth

    if not folder.is_dir():
        return False
    s = SYNTHETIC_SETS[name]
    again = "move it away and make it again"
    recorded = synth.recorded_settings(folder)
    if recorded is not None:
        wanted = {k: v for k, v in s.items() if k not in ("count", "seed")}
        differ = synth.settings_differences(recorded, synth.settings_of(light_mode="canonical", **wanted))
        if differ:
            raise ValueError(f"{folder} was made with {', '.join(differ)}, so it is not {name}; {again}")
    rows = synth.read_index(folder / "index.tsv")
    expected = synth.pair_names(s["count"], s["seed"])
    if any(n in rows and not synth.made_from(rows[n], seed) for n, seed in expected):
        raise ValueError(f"{folder} holds pairs made from another --seed than {name}'s {s['seed']}; {again}")
    photos = len(list(folder.glob("*_color.png")))
    if photos > s["count"]:
        raise ValueError(f"{folder} holds {photos} photos, more than the {s['count']} of {name}; {again}")
    return all(n in rows and (folder / f"{n}_color.png").is_file() and (folder / f"{n}_normal.png").is_file()
               for n, _ in expected)


def make_set(folder: Path, name: str, jobs: int = 1, progress=None) -> Path:
    """Make (or finish) synthetic set `name` in `folder`; pairs already there are kept."""
    from .synth import write_dataset

    return write_dataset(folder, light_mode="canonical", jobs=jobs, progress=progress, **SYNTHETIC_SETS[name])


def score(models: list[str], sets: dict[str, Path], predictor=model_predictor, log=None) -> dict:
    """-> {model: {set: evaluate(...) result}}, each model loaded once (all of them before any
    is scored, so a bad file stops the run at once) and told each photo's side."""
    if len(set(models)) < len(models):
        raise ValueError(f"{next(m for m in models if models.count(m) > 1)} is given twice")
    predictors = {model: predictor(model, light_from="index") for model in models}
    results: dict[str, dict] = {}
    for model, predict in predictors.items():
        results[model] = {}
        for name, folder in sets.items():
            results[model][name] = evaluate(predict, [folder], light_from="index")
            if log:
                log(f"{model} on {name}: {results[model][name]['overall']['mean']:.2f}°")
    return results


def verdicts(results: dict, synthetic: list[str]) -> dict[str, list[str]]:
    """For each model after the first: the synthetic sets on which it is not better than the
    first (empty: it would replace the first by the rule)."""
    base, *others = list(results)
    return {m: [s for s in synthetic if results[m][s]["overall"]["mean"] >= results[base][s]["overall"]["mean"]]
            for m in others}


def format_table(results: dict, synthetic: list[str], labels: dict[str, str] | None = None) -> str:
    """A Markdown table: a row per set (and per kind of the sets that are not synthetic), a
    column per model, each cell "mean (relief)" in degrees; then each later model's verdict
    against the first."""
    labels = labels or {}
    models = list(results)
    names = [labels.get(m, m) for m in models]
    lines = ["| set | " + " | ".join(names) + " |", "|---" * (len(models) + 1) + "|"]

    def cell(stats: dict) -> str:
        relief = stats.get("relief")
        return f"{stats['mean']:.2f}" + (f" ({relief:.2f})" if relief is not None else "")

    sets = list(results[models[0]])
    for name in sets:
        lines.append(f"| {name} | " + " | ".join(cell(results[m][name]["overall"]) for m in models) + " |")
        if name not in synthetic:
            for group in results[models[0]][name]["groups"]:
                lines.append(f"| {name} / {group} | "
                             + " | ".join(cell(results[m][name]["groups"][group]) for m in models) + " |")
    lines.append("")
    lines.append("Cells: mean angular error in degrees (relief: predicted mean tilt over the true).")
    chosen_on = [s for s in synthetic if s in sets]
    for model, worse in verdicts(results, chosen_on).items():
        name, base = labels.get(model, model), names[0]
        if not chosen_on:
            lines.append(f"- {name}: no synthetic set was scored, so no verdict against {base}.")
        elif worse:
            lines.append(f"- {name}: not better than {base} on {', '.join(worse)}; it would not replace it.")
        else:
            lines.append(f"- {name}: better than {base} on every synthetic set scored ({len(chosen_on)}).")
    return "\n".join(lines)
