"""The benchmark runner keeps the analyses added to RESULTS.md by hand when it rewrites its own sections."""

from benchmarks.run import GENERATED_SECTIONS, kept_sections

PREVIOUS = """# leadscore benchmark results

old header

# Model

old model table

# Calibration under shift (issue 17)

Reproduce: `python -m benchmarks.bench_x`

```text
# not a heading: inside a code block
```

### a sub-section stays with its section

# Promotion gate

old gate table

# Macro drift out of time

the last analysis
"""


def test_sections_the_runner_does_not_write_are_kept_whole_and_in_order():
    kept = kept_sections(PREVIOUS)
    assert [section.splitlines()[0] for section in kept] == [
        "# Calibration under shift (issue 17)",
        "# Macro drift out of time",
    ]
    assert "# not a heading: inside a code block" in kept[0] and "### a sub-section" in kept[0]
    assert kept[1].endswith("the last analysis")
    assert not any("old" in section for section in kept)  # the runner's own sections are rewritten


def test_a_first_run_keeps_nothing_and_every_generated_heading_is_known():
    assert kept_sections("") == []
    assert all(heading.startswith("# ") for heading in GENERATED_SECTIONS)
