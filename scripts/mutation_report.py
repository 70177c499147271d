"""Per-module table of a mutmut run, read from ``mutmut results --all true`` on standard input.

    mutmut results --all true | python scripts/mutation_report.py activations costs

The kill rate counts a mutant as killed when a test failed, timed out or crashed on it; a mutant that was
not run (no test reaches its code) counts as surviving. "unexplained" counts the survivors that
scripts/mutation_survivors.md does not list: each is a gap in the tests, and they are named below the table.
"""
import collections
import pathlib
import re
import sys

KILLED = {"killed", "timeout", "segfault"}
SURVIVORS_FILE = pathlib.Path(__file__).with_name("mutation_survivors.md")


def explained_mutants(text):
    """Names ("module.x_f__mutmut_3") listed in the survivors file's tables, where a row may name
    several mutants of one function as `x_f__mutmut_3`, `_5` or a range `x_f__mutmut_3`–`_6`."""
    names, module = set(), None
    for line in text.splitlines():
        if line.startswith("## "):
            module = line[3:].strip()
        elif line.startswith("| `") and module:
            base = None
            for match in re.finditer(r"`([^`]+)`(?:–`_(\d+)`)?", line.split("|")[1]):
                token, last = match[1], match[2]
                if "__mutmut_" in token:
                    base, first = token.rsplit("_", 1)
                elif base and re.fullmatch(r"_\d+", token):
                    first = token[1:]
                else:
                    continue
                names.update(f"{module}.{base}_{n}" for n in range(int(first), int(last or first) + 1))
    return names


def main(modules, results=sys.stdin, survivors_text=None):
    explained = explained_mutants(SURVIVORS_FILE.read_text() if survivors_text is None else survivors_text)
    counts = collections.defaultdict(collections.Counter)
    unexplained = collections.defaultdict(list)
    for line in results:
        match = re.match(r"\s*core\.((\w+)\.\S+__mutmut_\d+): (.+)", line)
        if match and (not modules or match[2] in modules):
            status = match[3].strip()
            counts[match[2]][status] += 1
            if status not in KILLED and match[1] not in explained:
                unexplained[match[2]].append(match[1])
    print(f"{'module':<14}{'mutants':>8}{'killed':>8}{'survived':>10}{'unexplained':>13}{'kill rate':>11}")
    total, total_unexplained = collections.Counter(), 0
    for module in sorted(counts):
        total.update(counts[module])
        total_unexplained += len(unexplained[module])
        _row(module, counts[module], len(unexplained[module]))
    _row("all", total, total_unexplained)
    for module in sorted(name for name in unexplained if unexplained[name]):
        print(f"\nunexplained survivors in {module}: " + ", ".join(sorted(unexplained[module])))


def _row(name, counts, unexplained):
    mutants = sum(counts.values())
    killed = sum(n for status, n in counts.items() if status in KILLED)
    print(f"{name:<14}{mutants:>8}{killed:>8}{mutants - killed:>10}{unexplained:>13}"
          f"{killed / max(mutants, 1):>10.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
