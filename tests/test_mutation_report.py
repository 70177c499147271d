"""scripts/mutation_report.py: the kill-rate table, and which survivors scripts/mutation_survivors.md explains."""
import importlib.util
import io
import pathlib

PROJECT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutation_report", PROJECT / "scripts" / "mutation_report.py")
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

SURVIVORS = """# Surviving mutants, explained

Kinds that come back: `x_not_a_row__mutmut_1` in prose is not a listing.

## costs

| mutant | change | why equivalent |
|---|---|---|
| `x_mean_cost__mutmut_8` | a | b |
| `x_mean_cost__mutmut_30`, `_32`, `_33` | a | b |

## blas

| mutant | change | why equivalent |
|---|---|---|
| `xǁThreadChoiceǁ__init____mutmut_30`–`_33`, `_37` | a | b |
| `xǁThreadChoiceǁ__init____mutmut_36`, `xǁThreadChoiceǁ_begin_trial__mutmut_7` | a | b |
"""


def test_rows_list_single_mutants_lists_and_ranges_under_their_module():
    assert report.explained_mutants(SURVIVORS) == {
        "costs.x_mean_cost__mutmut_8", "costs.x_mean_cost__mutmut_30", "costs.x_mean_cost__mutmut_32",
        "costs.x_mean_cost__mutmut_33", "blas.xǁThreadChoiceǁ__init____mutmut_30",
        "blas.xǁThreadChoiceǁ__init____mutmut_31", "blas.xǁThreadChoiceǁ__init____mutmut_32",
        "blas.xǁThreadChoiceǁ__init____mutmut_33", "blas.xǁThreadChoiceǁ__init____mutmut_37",
        "blas.xǁThreadChoiceǁ__init____mutmut_36", "blas.xǁThreadChoiceǁ_begin_trial__mutmut_7",
    }


def test_the_table_counts_timeouts_and_crashes_as_killed_and_names_unexplained_survivors(capsys):
    results = io.StringIO(
        "    core.costs.x_mean_cost__mutmut_1: killed\n"
        "    core.costs.x_mean_cost__mutmut_2: timeout\n"
        "    core.costs.x_mean_cost__mutmut_3: segfault\n"
        "    core.costs.x_mean_cost__mutmut_8: survived\n"
        "    core.costs.x_mean_cost__mutmut_9: survived\n"
        "    core.costs.x_mean_cost__mutmut_10: not checked\n"
        "    core.blas.xǁThreadChoiceǁ__init____mutmut_31: survived\n"
    )
    report.main(["costs"], results, SURVIVORS)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["costs", "6", "3", "3", "2", "50.0%"]
    assert lines[2].split() == ["all", "6", "3", "3", "2", "50.0%"]
    assert lines[-1] == "unexplained survivors in costs: costs.x_mean_cost__mutmut_10, costs.x_mean_cost__mutmut_9"


def test_every_survivor_in_the_projects_file_is_listed_under_a_core_module():
    listed = report.explained_mutants(report.SURVIVORS_FILE.read_text())
    modules = {name.split(".")[0] for name in listed}
    assert modules <= {path.stem for path in (PROJECT / "core").glob("*.py")}
    assert len(listed) > 100
