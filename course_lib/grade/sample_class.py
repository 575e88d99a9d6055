"""A made-up class with known mistakes, to try the class report on (and to test it against).

    python -m course_lib.grade.sample_class OUT [--learners 32] [--seed 0]

Each learner hands in exercise 02 or 03 (alternately), built from the solution: every part is
left right, turned back into the stub (not tried), or rewritten with one catalogued mistake.
OUT/<learner>/<exercise>.ipynb are the notebooks; OUT/truth.json says what was injected:
{learner: {"exercise": name, "parts": {part id: "passed" | "not_tried" | mistake id}}}.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
from pathlib import Path

import nbformat

from ..exercises import SOLUTIONS, stub_solution

DOT = 'torch.einsum("bd,bsd->bs", query, keys)'
MASK = "mask[:, None, :]"

# part id -> {mistake id: the body of the answer function with that mistake}
MISTAKEN: dict[str, dict[str, str]] = {
    "02_dot_score": {"unwanted_scale": f"return {DOT} / math.sqrt(query.shape[-1])"},
    "02_scaled_dot_score": {
        "missing_scale": f"return {DOT}",
        "scaled_by_d": f"return {DOT} / query.shape[-1]",
    },
    "02_bilinear_score": {
        "bilinear_transposed": 'return torch.einsum("bk,bsk->bs", query @ weight.T, keys)'
    },
    "02_mlp_score": {
        "mlp_missing_tanh": (
            "queries = query.unsqueeze(1).expand(-1, keys.shape[1], -1)\n"
            "return (torch.cat([queries, keys], -1) @ w1.T) @ w2"
        ),
        "mlp_concat_order": (
            "queries = query.unsqueeze(1).expand(-1, keys.shape[1], -1)\n"
            "return torch.tanh(torch.cat([keys, queries], -1) @ w1.T) @ w2"
        ),
    },
    "03_attention_weights": {
        "softmax_wrong_axis": "return torch.softmax(scores, dim=1)",
        "weights_not_normalised": "return scores.exp()",
        "softmax_overflow": "return scores.exp() / scores.exp().sum(-1, keepdim=True)",
    },
    "03_lengths_to_mask": {
        "mask_off_by_one": "return torch.arange(src_len)[None, :] <= lengths[:, None]",
        "mask_inverted": "return torch.arange(src_len)[None, :] >= lengths[:, None]",
    },
    "03_masked_softmax": {
        "mask_after_softmax": f"return torch.softmax(scores, dim=-1) * {MASK}",
        "padding_not_masked": "return torch.softmax(scores, dim=-1)",
    },
    "03_temperature_weights": {
        "temperature_multiplied": "return torch.softmax(scores * temperature, dim=-1)",
        "temperature_after_softmax": "return torch.softmax(scores, dim=-1) / temperature",
    },
    "03_weights_entropy": {
        "entropy_sign": "return torch.special.xlogy(weights, weights).sum(dim=-1)",
        "entropy_zero_weights_nan": "return -(weights * weights.log()).sum(dim=-1)",
    },
    "03_empty_row_softmax": {
        "empty_row_nan": f"return torch.softmax(scores.masked_fill(~{MASK}, float('-inf')), -1)",
        "empty_row_uniform": f"return torch.softmax(scores.masked_fill(~{MASK}, -1e9), -1)",
    },
}
EXERCISES = ("02_score_functions", "03_softmax_weights")


def with_body(source: str, body: str) -> str:
    """The answer cell with its solution region replaced by `body`, at the region's indent."""
    lines = source.splitlines()
    begin = next(i for i, line in enumerate(lines) if "### BEGIN SOLUTION" in line)
    end = next(i for i, line in enumerate(lines) if "### END SOLUTION" in line)
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    return "\n".join(
        [*lines[:begin], *(indent + line for line in body.splitlines()), *lines[end + 1 :]]
    )


def _learner_notebook(solution, rng: random.Random) -> tuple[nbformat.NotebookNode, dict]:
    nb = copy.deepcopy(solution)
    truth = {}
    for cell in nb.cells:
        part = cell.id.removesuffix("_answer")
        if not cell.id.endswith("_answer") or part not in MISTAKEN:
            continue
        cell.outputs, cell.execution_count = [], None
        roll = rng.random()
        if roll < 0.3:
            truth[part] = "passed"  # the solution's own answer, left as it is
        elif roll < 0.45:
            truth[part] = "not_tried"
            cell.source = stub_solution(cell.source)
        else:
            mistake = rng.choice(sorted(MISTAKEN[part]))
            truth[part] = mistake
            cell.source = with_body(cell.source, MISTAKEN[part][mistake])
    return nb, truth


def make_class(folder: Path, learners: int = 32, seed: int = 0) -> dict:
    """Write the class into `folder`; returns (and writes as truth.json) what was injected."""
    rng = random.Random(seed)
    solutions = {name: nbformat.read(SOLUTIONS / f"{name}.ipynb", 4) for name in EXERCISES}
    truth = {}
    for index in range(learners):
        learner = f"learner{index:02d}"
        exercise = EXERCISES[index % len(EXERCISES)]
        nb, parts = _learner_notebook(solutions[exercise], rng)
        path = Path(folder) / learner / f"{exercise}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        truth[learner] = {"exercise": exercise, "parts": parts}
    (Path(folder) / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grade.sample_class")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--learners", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    make_class(args.folder, args.learners, args.seed)
    print(f"{args.learners} learners written to {args.folder} (injected mistakes: truth.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
