#!/usr/bin/env bash
# Mutation testing of core/ with mutmut: each mutant (a small change to the library's code) is run
# against the library's unit tests (the list in pyproject.toml, [tool.mutmut]); a mutant no test
# notices "survived". Slow (hours for all of core/ on two cores), so not part of CI.
#
#   bash scripts/mutation.sh                      # every core module; mutants already tested keep their result
#   bash scripts/mutation.sh activations costs    # these modules, every mutant tested again
#
# Prints a table of killed and surviving mutants per module. Survivors explained as equivalent
# (no test can tell them apart from the real code) are listed in scripts/mutation_survivors.md.
# MUTMUT_CHILDREN sets how many mutants run at once (default: one per CPU).
# Results are kept in mutants/; delete it to start afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt "mutmut==3.8.1"
patterns=()
for module in "$@"; do
  patterns+=("core.${module}.*")
done
mutmut run --max-children "${MUTMUT_CHILDREN:-$(nproc)}" "${patterns[@]}" || true
mutmut results --all true | python scripts/mutation_report.py "$@"
