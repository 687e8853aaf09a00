"""Run every benchmark and write benchmarks/RESULTS.md (what `make bench` calls).

Run: .venv/bin/python -m benchmarks.run [--quick] [--output benchmarks/RESULTS.md]

The feature benchmark runs as a subprocess (it is a command-line script that prints Markdown); the model
benchmark runs in this process. RESULTS.md is written atomically (temporary file + rename), with the date,
the machine, package versions and the command that reproduces each table.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "RESULTS.md"
PACKAGES = ("lightgbm", "pandas", "numpy", "scikit-learn", "mlflow")


def _memory_gb() -> str:
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return f"{pages * page_size / 2**30:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine_lines() -> list[str]:
    versions = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    return [
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} CPUs ({_cpu_model()}), {_memory_gb()} memory, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
    ]


def run_script(module: str, args: list[str]) -> tuple[str, float, str]:
    """A benchmark script's Markdown (its stdout), its run time and its command line."""
    command = [sys.executable, "-m", f"benchmarks.{module}", *args]
    began = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    shown = " ".join([f".venv/bin/python -m benchmarks.{module}", *args])
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        return f"**Failed** (exit code {done.returncode}):\n\n```\n{tail}\n```", seconds, shown
    return done.stdout.strip(), seconds, shown


def run_features(quick: bool) -> tuple[str, float, str]:
    return run_script(
        "bench_features", ["--leads", "5000", "--activities", "100000", "--repeats", "1"] if quick else []
    )


def run_generator(quick: bool) -> tuple[str, float, str]:
    return run_script("bench_generator", [])


def run_scoring(quick: bool) -> tuple[str, float, str]:
    return run_script("bench_scoring", ["--leads", "20000", "--requests", "30"] if quick else [])


FUNNELS = (
    ("A bank's telemarketing funnel", "bench_bank", ["--seeds", "0,1,2"], ["--seeds", "0", "--rows", "4000"]),
    ("A one-year landing-page funnel", "bench_pages", ["--seeds", "0,1,2,3,4,5"], ["--seeds", "0"]),
    (
        "Macro series that name their period",
        "bench_macro",
        ["--seeds", "0,1"],
        ["--seeds", "0", "--rows", "10000"],
    ),
)


def run_funnels(quick: bool) -> tuple[str, float, str]:
    """The exports shaped like public funnels, each through `spec draft` and `evaluate --out-of-time`."""
    parts, seconds, commands = [], 0.0, []
    for title, module, args, quick_args in FUNNELS:
        markdown, spent, shown = run_script(module, quick_args if quick else args)
        parts.append(f"## {title}\n\nReproduce: `{shown}` ({spent:.0f} s)\n\n{markdown}")
        seconds += spent
        commands.append(shown)
    return "\n\n".join(parts), seconds, "; ".join(commands)


def run_model(quick: bool) -> tuple[str, float, str]:
    from benchmarks import bench_model

    began = time.perf_counter()
    markdown = bench_model.run(quick=quick)
    shown = ".venv/bin/python -m benchmarks.bench_model" + (" --quick" if quick else "")
    return markdown, time.perf_counter() - began, shown


def run_backtests(quick: bool) -> tuple[str, float, str]:
    from benchmarks import bench_evaluate

    began = time.perf_counter()
    markdown = bench_evaluate.run(quick=quick)
    shown = ".venv/bin/python -m benchmarks.bench_evaluate" + (" --quick" if quick else "")
    return markdown, time.perf_counter() - began, shown


def run_gate(quick: bool) -> tuple[str, float, str]:
    from benchmarks import bench_gate

    began = time.perf_counter()
    seeds = 2 if quick else 20
    markdown = "\n\n".join(
        [
            bench_gate.run(seeds, 2500, 18),
            "With the gate alone:",
            bench_gate.run(seeds, 2500, 18, gate_only=True),
        ]
    )
    shown = f".venv/bin/python -m benchmarks.bench_gate --seeds {seeds} [--gate-only]"
    return markdown, time.perf_counter() - began, shown


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _demote(markdown: str) -> str:
    """Nest a benchmark's own headings one level under this file's section heading."""
    return "\n".join("#" + line if line.startswith("#") else line for line in markdown.splitlines())


GENERATED_SECTIONS = (
    "# leadscore benchmark results",
    "# Synthetic CRM history",
    "# Feature pipeline",
    "# Model",
    "# Scoring at scale and online",
    "# Backtests (leadscore evaluate)",
    "# Exports shaped like public funnels, out of time",
    "# Promotion gate",
)


def kept_sections(previous: str, generated: tuple[str, ...] = GENERATED_SECTIONS) -> list[str]:
    """The top-level sections of the previous results file that this runner does not write (analyses added
    by hand, each with its own reproduce command), in their order, so a new run does not lose them."""
    sections: list[list[str]] = []
    fenced = False
    for line in previous.splitlines():
        fenced ^= line.startswith("```")
        if not fenced and line.startswith("# "):
            sections.append([])
        if sections:
            sections[-1].append(line)
    return ["\n".join(lines).rstrip() for lines in sections if lines[0].strip() not in generated]


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(text)
        temporary = Path(handle.name)
    temporary.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test of the runner)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    load_before = os.getloadavg()
    began = time.perf_counter()
    print("benchmarks: generator ...", file=sys.stderr, flush=True)
    generator_md, generator_s, generator_cmd = run_generator(args.quick)
    print("benchmarks: features ...", file=sys.stderr, flush=True)
    features_md, features_s, features_cmd = run_features(args.quick)
    print(f"benchmarks: features done in {features_s:.0f} s; model ...", file=sys.stderr, flush=True)
    model_md, model_s, model_cmd = run_model(args.quick)
    print(
        "benchmarks: scoring at scale (2,000,000 leads) and online latency ...", file=sys.stderr, flush=True
    )
    scoring_md, scoring_s, scoring_cmd = run_scoring(args.quick)
    print(
        "benchmarks: backtests (leadscore evaluate on the drift scenarios) ...", file=sys.stderr, flush=True
    )
    backtest_md, backtest_s, backtest_cmd = run_backtests(args.quick)
    print("benchmarks: exports shaped like public funnels, out of time ...", file=sys.stderr, flush=True)
    funnels_md, funnels_s, _ = run_funnels(args.quick)
    print("benchmarks: promotion gate over seeds ...", file=sys.stderr, flush=True)
    gate_md, gate_s, gate_cmd = run_gate(args.quick)
    total = time.perf_counter() - began
    print(f"benchmarks: model done in {model_s:.0f} s; total {total:.0f} s", file=sys.stderr, flush=True)

    text = "\n".join(
        [
            "# leadscore benchmark results",
            "",
            "Generated by `make bench` (`.venv/bin/python -m benchmarks.run`), down to the Promotion gate "
            "section; the sections after it are analyses added by hand, kept from run to run. See "
            "benchmarks/README.md for what each table measures.",
            "",
            *machine_lines(),
            f"- Total run time: {total:.0f} s (generator {generator_s:.0f} s, features {features_s:.0f} s, "
            f"model {model_s:.0f} s, scoring {scoring_s:.0f} s, backtests {backtest_s:.0f} s, "
            f"funnels {funnels_s:.0f} s, "
            f"gate {gate_s:.0f} s)" + (" -- QUICK MODE, small sizes" if args.quick else ""),
            f"- Load average (1, 5, 15 min) before the run: {_load(load_before)}; after: "
            f"{_load(os.getloadavg())}. A 5-minute load well above 1 means other processes shared the "
            "CPUs: LightGBM with 2 threads on 2 busy cores slows down many times.",
            "",
            "Times on a shared machine are noisy: compare ratios measured in the same run, not absolute "
            "seconds across runs.",
            "",
            "# Synthetic CRM history",
            "",
            f"Reproduce: `{generator_cmd}`",
            "",
            _demote(generator_md),
            "",
            "# Feature pipeline",
            "",
            f"Reproduce: `{features_cmd}`",
            "",
            _demote(features_md),
            "",
            "# Model",
            "",
            f"Reproduce: `{model_cmd}` (one section: `--sections quality`, `xedu`, `train` or `score`; "
            "`score` reuses the largest quality run's model)",
            "",
            _demote(model_md),
            "",
            "# Scoring at scale and online",
            "",
            f"Reproduce: `{scoring_cmd}`",
            "",
            _demote(scoring_md),
            "",
            "# Backtests (leadscore evaluate)",
            "",
            f"Reproduce: `{backtest_cmd}`",
            "",
            _demote(backtest_md),
            "",
            "# Exports shaped like public funnels, out of time",
            "",
            "Each export is drafted with `leadscore spec draft` and backtested with `leadscore evaluate "
            "--out-of-time` (the latest 20 % by date tested); the analyses after the Promotion gate section "
            "say what each funnel reproduces and what changed it.",
            "",
            _demote(funnels_md),
            "",
            "# Promotion gate",
            "",
            f"Reproduce: `{gate_cmd}`",
            "",
            _demote(gate_md),
            "",
        ]
    )
    previous = args.output.read_text() if args.output.exists() else ""
    text += "".join(f"\n{section}\n" for section in kept_sections(previous))
    write_atomically(args.output, text)
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
