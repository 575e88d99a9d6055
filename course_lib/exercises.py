"""Generate exercises/ from solutions/, the only hand-edited source of the exercise notebooks.

Solution regions follow nbgrader's convention: the lines between `### BEGIN SOLUTION` and
`### END SOLUTION` become `# YOUR CODE HERE` + `raise NotImplementedError()` at the markers'
indentation; `### BEGIN HIDDEN TESTS` .. `### END HIDDEN TESTS` regions are dropped. Every
output is cleared; cell ids and nbgrader metadata are kept, so the grader can restore check cells.

    python -m course_lib.exercises            # (re)write exercises/
    python -m course_lib.exercises --check    # exit 1 if exercises/ differs from what it would write
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

from course_lib.paths import COURSE_ROOT

SOLUTIONS = COURSE_ROOT / "solutions"
EXERCISES = COURSE_ROOT / "exercises"

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
# the tag every check cell carries: JupyterLab (4.1+) then runs the cells after it even when the
# check fails, so one wrong part never hides the state of the others
RUN_ON = "raises-exception"


class SolutionFormatError(ValueError):
    """A solution notebook breaks the conventions the generator and the grader rely on."""


def nbgrader_meta(cell: dict) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def stub_solution(source: str, where: str = "cell") -> str:
    """Replace every solution region by the nbgrader stub, and drop hidden-test regions."""
    out: list[str] = []
    inside: str | None = None
    for line in source.splitlines():
        marker = line.strip()
        if inside is None and marker == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + stub for stub in STUB)
            inside = END
        elif inside is None and marker == BEGIN_HIDDEN:
            inside = END_HIDDEN
        elif inside is not None and marker == inside:
            inside = None
        elif marker in (END, END_HIDDEN):
            raise SolutionFormatError(f"{where}: `{marker}` without its BEGIN marker")
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise SolutionFormatError(f"{where}: region not closed by `{inside}`")
    return "\n".join(out)


def validate(nb: nbformat.NotebookNode, name: str) -> None:
    """Check ids, nbgrader metadata and markers, so that generation and grading cannot go wrong."""
    ids, grade_ids = set(), set()
    for index, cell in enumerate(nb.cells):
        where = f"{name} cell {index}"
        cell_id = cell.get("id")
        if not cell_id or cell_id in ids:
            raise SolutionFormatError(f"{where}: missing or duplicate cell id {cell_id!r}")
        ids.add(cell_id)
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        grade_id = meta.get("grade_id")
        if not grade_id or grade_id in grade_ids:
            raise SolutionFormatError(f"{where}: missing or duplicate grade_id {grade_id!r}")
        grade_ids.add(grade_id)
        if meta.get("grade") and not meta.get("points", 0) > 0:
            raise SolutionFormatError(f"{where}: graded cell {grade_id!r} needs points > 0")
        if meta.get("grade") and not meta.get("locked"):
            raise SolutionFormatError(f"{where}: graded cell {grade_id!r} must be locked")
        if meta.get("grade") and RUN_ON not in cell.metadata.get("tags", []):
            raise SolutionFormatError(
                f"{where}: graded cell {grade_id!r} needs the tag {RUN_ON!r}, so that a failed "
                "check does not stop JupyterLab's Run All"
            )
        if meta.get("solution") and BEGIN not in cell.source:
            raise SolutionFormatError(f"{where}: solution cell {grade_id!r} has no `{BEGIN}`")


def make_exercise(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The learner's version of a solution notebook: stubs instead of answers, no outputs."""
    validate(solution, name)
    nb = copy.deepcopy(solution)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        if nbgrader_meta(cell).get("solution") or BEGIN_HIDDEN in cell.source:
            cell.source = stub_solution(cell.source, f"{name} cell {cell.id}")
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def build(
    solutions: Path = SOLUTIONS, exercises: Path = EXERCISES, check: bool = False
) -> list[Path]:
    """Write (or, with check=True, only compare) every exercise; return the paths that differ."""
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        raise SolutionFormatError(f"no solution notebooks in {solutions}")
    drifted = []
    for source in sources:
        target = exercises / source.name
        text = render(make_exercise(nbformat.read(source, as_version=4), source.name))
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        drifted.append(target)
        if not check:
            exercises.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return drifted


def orphans(solutions: Path = SOLUTIONS, exercises: Path = EXERCISES) -> list[Path]:
    """Exercise notebooks that no solution generates any more."""
    names = {p.name for p in solutions.glob("*.ipynb")}
    return [p for p in sorted(exercises.glob("*.ipynb")) if p.name not in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate exercises/ from solutions/.")
    parser.add_argument("--check", action="store_true", help="only report drift; exit 1 if any")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS)
    parser.add_argument("--exercises", type=Path, default=EXERCISES)
    args = parser.parse_args(argv)
    try:
        changed = build(args.solutions, args.exercises, check=args.check)
    except SolutionFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"{'differs' if args.check else 'wrote'}: {path}")
    stray = orphans(args.solutions, args.exercises)
    for path in stray:
        print(f"no solution generates {path}: delete it or restore its solution", file=sys.stderr)
    if args.check and (changed or stray):
        print("exercises/ is out of date: run `make exercises`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
