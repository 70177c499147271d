"""Per-module table of a mutmut run, read from ``mutmut results --all true`` on standard input.

    mutmut results --all true | python scripts/mutation_report.py activations costs

The kill rate counts a mutant as killed when a test failed, timed out or crashed on it; a mutant that was
not run (no test reaches its code) counts as surviving.
"""
import collections
import re
import sys

KILLED = {"killed", "timeout", "segfault"}


def main(modules):
    counts = collections.defaultdict(collections.Counter)
    for line in sys.stdin:
        match = re.match(r"\s*core\.(\w+)\.\S+__mutmut_\d+: (.+)", line)
        if match and (not modules or match[1] in modules):
            counts[match[1]][match[2].strip()] += 1
    print(f"{'module':<14}{'mutants':>8}{'killed':>8}{'survived':>10}{'kill rate':>11}")
    total = collections.Counter()
    for module in sorted(counts):
        total.update(counts[module])
        _row(module, counts[module])
    _row("all", total)


def _row(name, counts):
    mutants = sum(counts.values())
    killed = sum(n for status, n in counts.items() if status in KILLED)
    print(f"{name:<14}{mutants:>8}{killed:>8}{mutants - killed:>10}{killed / max(mutants, 1):>10.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
