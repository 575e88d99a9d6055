"""Run by tests/wheel/test_wheel.py with the throwaway venv's Python, from outside the repository.

    python check_installed.py imports       # every module course_lib imports can be imported
    python check_installed.py models WER PER  # both shipped models score as documented, +- WER/PER
    python check_installed.py lesson NOTEBOOK # run a notebook top to bottom with nbclient

Each command prints one line per check and exits non-zero with a message on the first failure.
Only the standard library is imported at module level: the point is to see what the installed
package brings with it.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

MODELS = ("g2p_bahdanau", "g2p_luong")


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def installed_package() -> Path:
    """Where course_lib was imported from; must be the venv's site-packages, not a checkout."""
    spec = importlib.util.find_spec("course_lib")
    if spec is None or spec.origin is None:
        fail("course_lib is not importable")
    package = Path(spec.origin).parent
    if "site-packages" not in package.parts:
        fail(f"course_lib was imported from {package}, not from an installed package")
    return package


def imported_modules(package: Path) -> set[str]:
    """Top-level names of every absolute import in the package's source files."""
    names = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def check_imports() -> None:
    package = installed_package()
    names = imported_modules(package) | {"ipykernel"}  # the lessons' kernel
    missing = sorted(n for n in names if importlib.util.find_spec(n) is None)
    if missing:
        fail(f"course_lib imports modules its dependencies do not install: {missing}")
    print(f"imports: {len(names)} modules importable, course_lib from {package}")


def score_models(tolerance: dict[str, float]) -> None:
    """WER/PER of each shipped model on the test split vs scores.json, within tolerance.

    The whole split (6,272 words; about 4 s more than 600 words), as scores.json records it:
    a sample of a few hundred words would differ from the documented figures by sampling noise
    (about 2 points of WER), hiding a model that is off by less.
    """
    from course_lib import checkpoints, metrics
    from course_lib.data.g2p import g2p_splits, to_examples
    from course_lib.evaluation import predict

    recorded = json.loads((checkpoints.PRETRAINED_DIR / "scores.json").read_text())
    test = to_examples(g2p_splits()["test"])
    for name in MODELS:
        ckpt = checkpoints.load_pretrained(name)
        outputs = predict(ckpt.model, test, ckpt.src_vocab, ckpt.tgt_vocab, batch_size=1000)
        references = [ex.references for ex in test]
        scores = {
            "wer": metrics.word_error_rate(outputs, references),
            "per": metrics.phoneme_error_rate(outputs, references),
        }
        for key, value in scores.items():
            documented = recorded[name][f"test_{key}"]
            line = f"{name} {key}: {value:.4f} on {len(test)} words, documented {documented:.4f}"
            if abs(value - documented) > tolerance[key]:
                fail(f"{line}; differs by more than {tolerance[key]}")
            print(line)


def run_lesson(path: Path) -> None:
    """Execute a notebook in a fresh kernel of this Python, in the notebook's folder."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        fail(f"{path.name} failed: {str(err)[-2000:]}")
    print(f"lesson: {path.name} ran, {len(notebook.cells)} cells")


def main(argv: list[str]) -> None:
    if argv[:1] == ["imports"]:
        check_imports()
    elif argv[:1] == ["models"] and len(argv) == 3:
        score_models({"wer": float(argv[1]), "per": float(argv[2])})
    elif argv[:1] == ["lesson"] and len(argv) == 2:
        run_lesson(Path(argv[1]))
    else:
        fail(f"usage: {__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
