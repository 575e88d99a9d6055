"""Each attack a hostile learner tried on the grader, written as that learner's notebook.

An attack changes one answer cell of a solution notebook (or adds a cell). It must not gain
points: a wrong or missing answer stays at 0 whatever else the cell does, and the right answers
in the same notebook, and in a classmate's notebook graded in the same run, keep their points.
All notebooks are graded in one call; the sandbox-only tests skip without bubblewrap.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from pathlib import Path

import nbformat
import pytest

from course_lib.grade.grader import Limits, grade

ROOT = Path(__file__).resolve().parents[1]
TOKEN = uuid.uuid4().hex  # marks the processes and files these attacks create


def _solution(number: str) -> nbformat.NotebookNode:
    return nbformat.read(next((ROOT / "solutions").glob(f"{number}_*.ipynb")), as_version=4)


WRONG_DOT = "def dot_score(query, keys):\n    return torch.zeros(keys.shape[:2])\n"

# name -> (exercise, {answer cell id: new source}, the part that must score 0 or None)
ATTACKS = {
    # 1. answers right only on the check's visible inputs
    "table_of_lags": (
        "01",
        {
            "01_time_lags_answer": (
                "def time_lags(src_len, reverse):\n"
                "    table = {(5, False): [5] * 5, (7, False): [7] * 7,\n"
                "             (5, True): [1, 3, 5, 7, 9], (7, True): [1, 3, 5, 7, 9, 11, 13]}\n"
                "    return torch.tensor(table[(src_len, reverse)])\n"
            )
        },
        "01_time_lags",
    ),
    "constant_accuracy": (
        "06",
        {
            "06_alignment_accuracy_answer": "def alignment_accuracy(weights, gold):\n    return 7 / 9\n"
        },
        "06_alignment_accuracy",
    ),
    "squeeze_breaks_at_batch_1": (
        "04",
        {
            "04_context_vector_answer": (
                "def context_vector(weights, values):\n"
                "    if weights.dim() == 2:\n"
                "        return torch.bmm(weights.unsqueeze(1), values).squeeze()\n"
                "    return torch.bmm(weights, values)\n"
            )
        },
        "04_context_vector",
    ),
    "softmax_axis_by_size": (
        "03",
        {
            "03_attention_weights_answer": (
                "def attention_weights(scores):\n"
                "    axis = list(scores.shape).index(scores.shape[-1])\n"
                "    return torch.softmax(scores, dim=axis)\n"
            )
        },
        "03_attention_weights",
    ),
    "mask_with_minus_1e4": (
        "03",
        {
            "03_masked_softmax_answer": (
                "def masked_softmax(scores, mask):\n"
                "    weights = scores.masked_fill(~mask[:, None, :], -1e4).softmax(-1)\n"
                "    return weights * mask[:, None, :]\n"
            )
        },
        "03_masked_softmax",
    ),
    "gold_zero_ignored": (
        "06",
        {
            "06_alignment_accuracy_answer": (
                "def alignment_accuracy(weights, gold):\n"
                "    aligned = gold > 0\n"
                "    hits = (weights.argmax(-1) == gold) & aligned\n"
                "    return hits.sum().item() / aligned.sum().item()\n"
            )
        },
        "06_alignment_accuracy",
    ),
    "greedy_feeds_first_prediction": (
        "05",
        {
            "05_decode_answer": (
                "def decode(step, h0, tgt_in, greedy):\n"
                "    tokens, weights, first = [], [], None\n"
                "    inputs, h = tgt_in[:, 0], h0\n"
                "    for t in range(tgt_in.shape[1]):\n"
                "        logits, h, w = step(inputs, h)\n"
                "        prediction = logits.argmax(-1)\n"
                "        first = prediction if first is None else first\n"
                "        tokens.append(prediction)\n"
                "        weights.append(w)\n"
                "        if t + 1 < tgt_in.shape[1]:\n"
                "            inputs = first if greedy else tgt_in[:, t + 1]\n"
                "    return torch.stack(tokens, 1), torch.stack(weights, 1)\n"
            )
        },
        "05_decode",
    ),
    "attention_under_no_grad": (
        "04",
        {
            "04_attend_answer": (
                "def attend(query, keys, values, mask):\n"
                "    with torch.no_grad():\n"
                "        scores = query @ keys.transpose(1, 2)\n"
                "        weights = scores.masked_fill(~mask[:, None, :], float('-inf')).softmax(-1)\n"
                "        return weights @ values, weights\n"
            )
        },
        "04_attend",
    ),
    # 2. code in the learner's interpreter changing the checks, torch or IPython
    "checks_replaced": (
        "02",
        {
            "02_dot_score_answer": WRONG_DOT
            + "checks.check_dot_score = lambda fn: print('✓ dot_score passed')\n"
            + "import course_lib.checks._core as core\ncore.compare = lambda *a, **k: None\n"
        },
        "02_dot_score",
    ),
    "allclose_patched": (
        "02",
        {"02_dot_score_answer": WRONG_DOT + "torch.allclose = lambda *a, **k: True\n"},
        "02_dot_score",
    ),
    "checks_name_rebound": (
        "02",
        {
            "02_dot_score_answer": WRONG_DOT
            + "class checks:\n    def __getattr__(self, name):\n        return lambda fn: None\n"
            + "checks = checks()\n"
        },
        "02_dot_score",
    ),
    "ipython_hooks": (
        "02",
        {
            "02_dot_score_answer": WRONG_DOT
            + "ip = get_ipython()\n"
            + "ip.input_transformers_post.append(lambda lines: [])\n"
            + "ip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
        },
        "02_dot_score",
    ),
    "tensor_subclass_says_yes": (
        "02",
        {
            "02_dot_score_answer": (
                "class Yes(torch.Tensor):\n"
                "    @classmethod\n"
                "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
                "        if func in (torch.allclose, torch.equal, torch.Tensor.__eq__):\n"
                "            return True\n"
                "        return super().__torch_function__(func, types, args, kwargs or {})\n"
                "def dot_score(query, keys):\n"
                "    return torch.zeros(keys.shape[:2]).as_subclass(Yes)\n"
            )
        },
        "02_dot_score",
    ),
    "float_subclass_always_equal": (
        "06",
        {
            "06_alignment_accuracy_answer": (
                "class Same(float):\n"
                "    def __sub__(self, other):\n        return 0.0\n"
                "    __rsub__ = __sub__\n"
                "    def __eq__(self, other):\n        return True\n"
                "    __hash__ = float.__hash__\n"
                "def alignment_accuracy(weights, gold):\n    return Same(0.5)\n"
            )
        },
        "06_alignment_accuracy",
    ),
    "default_dtype_bfloat16": (
        "02",
        {
            "02_scaled_dot_score_answer": (
                "torch.set_default_dtype(torch.bfloat16)\n"
                "def scaled_dot_score(query, keys):\n"
                "    d = query.shape[-1]\n"
                "    return torch.einsum('bd,bsd->bs', query, keys) / math.sqrt(d) * 1.003\n"
            )
        },
        "02_scaled_dot_score",
    ),
    "module_edited_in_place": (
        "05",
        {
            "05_bahdanau_step_answer": (
                "def bahdanau_step(y_emb, h_prev, enc_states, mask, score, cell):\n"
                "    with torch.no_grad():\n"
                "        for p in score.parameters():\n"
                "            p.zero_()\n"
                "    weights = mask.float() / mask.float().sum(-1, keepdim=True)\n"
                "    context = torch.einsum('bs,bsd->bd', weights, enc_states)\n"
                "    return cell(torch.cat([y_emb, context], -1), h_prev), context, weights\n"
            )
        },
        "05_bahdanau_step",
    ),
    # 3. the results channel: fake result lines on every file descriptor, garbage included
    "fake_result_lines": (
        "03",
        {
            "03_masked_softmax_answer": (
                "import json, os\n"
                "def masked_softmax(scores, mask):\n"
                "    raise NotImplementedError()\n"
                "lines = [json.dumps({'ev': 'result', 'part': p, 'outcome': {'cases': []}})\n"
                "         for p in ('03_masked_softmax', '03_attention_weights')]\n"
                "lines += ['{not json', json.dumps({'ev': 'done'}), '\\x00' * 100]\n"
                "for fd in range(0, 64):\n"
                "    for line in lines:\n"
                "        try:\n"
                "            os.write(fd, (line + '\\n').encode())\n"
                "        except OSError:\n"
                "            pass\n"
                "print(*lines, sep='\\n')\n"
                "print('COURSE_GRADE_RESULTS' in os.environ)\n"
            )
        },
        "03_masked_softmax",
    ),
}

# name -> (exercise, {cell id: source}): parts that kill or stall their process; the rest count
FAIRNESS = {
    "exit_in_answer": (
        "05",
        {"05_bahdanau_step_answer": ("import os\ndef bahdanau_step(*args):\n    os._exit(0)\n")},
    ),
    "exit_at_top_level": ("03", {"03_lengths_to_mask_answer": "import os\nos._exit(0)\n"}),
    "loop_ignoring_signals": (
        "02",
        {
            "02_bilinear_score_answer": (
                "import signal\n"
                "def bilinear_score(query, keys, weight):\n"
                "    for sig in (signal.SIGINT, signal.SIGALRM, signal.SIGTERM):\n"
                "        signal.signal(sig, signal.SIG_IGN)\n"
                "    while True:\n"
                "        try:\n"
                "            pass\n"
                "        except BaseException:\n"
                "            pass\n"
            )
        },
    ),
    "kill_parent": (
        "06",
        {
            "06_hard_alignment_answer": (
                "import os, signal\n"
                "def hard_alignment(weights):\n"
                "    os.kill(os.getppid(), signal.SIGKILL)\n"
                "    return weights.argmax(-1)\n"
            )
        },
    ),
    "keyboard_interrupt": (
        "04",
        {
            "04_context_vector_answer": (
                "def context_vector(weights, values):\n    raise KeyboardInterrupt\n"
            )
        },
    ),
}


def _leftover_process_source() -> str:
    return (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '{TOKEN}'],\n"
        "                 start_new_session=True, cwd='/')\n"
    )


def _escape_source(course_lib: Path) -> str:
    """Read classmates' notebooks anywhere; write into course_lib; open a network connection."""
    return (
        "import os, socket, sys\n"
        "found = []\n"
        "for top in ('/work', '/tmp', '/root', '/home', os.path.expanduser('~')):\n"
        "    for folder, _, files in os.walk(top):\n"
        "        found += [os.path.join(folder, f) for f in files if f.endswith('.ipynb')]\n"
        "        if len(found) > 2000:\n"
        "            break\n"
        "FOUND = len(found)\n"
        "for name in found:\n"
        "    try:\n"
        "        text = open(name).read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    if 'def dot_score' in text and 'einsum' in text:\n"
        "        exec('import torch\\ndef dot_score(query, keys):\\n'\n"
        "             '    return torch.einsum(\"bd,bsd->bs\", query, keys)')\n"
        "        break\n"
        f"for target in ({str(course_lib / f'pwned_{TOKEN}.py')!r}, sys.prefix + '/pwned_{TOKEN}'):\n"
        "    try:\n"
        "        open(target, 'w').write('x = 1')\n"
        "    except OSError:\n"
        "        pass\n"
        "try:\n"
        "    socket.create_connection(('pypi.org', 443), timeout=2)\n"
        "    NET = True\n"
        "except OSError:\n"
        "    NET = False\n"
    )


def _write(folder: Path, name: str, number: str, answers: dict, extra: str = "") -> Path:
    nb = copy.deepcopy(_solution(number))
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
    if extra:
        nb.cells.insert(1, nbformat.v4.new_code_cell(extra, id="learner-extra"))
    path = folder / name / f"{nb.metadata['course']['exercise']}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """Grade every attack, each fairness case and a classmate's solution in one run."""
    import course_lib

    tmp = tmp_path_factory.mktemp("attacks")
    paths = {"classmate": _write(tmp, "classmate", "02", {})}
    for name, (number, answers, _) in ATTACKS.items():
        paths[name] = _write(tmp, name, number, answers)
    for name, (number, answers) in FAIRNESS.items():
        paths[name] = _write(tmp, name, number, answers)
    escape = _escape_source(Path(course_lib.__file__).parent)
    stub = {"02_dot_score_answer": "def dot_score(query, keys):\n    raise NotImplementedError()"}
    paths["escape"] = _write(tmp, "escape", "02", stub, extra=escape)
    paths["leftover"] = _write(tmp, "leftover", "01", {}, extra=_leftover_process_source())
    duplicated = copy.deepcopy(_solution("04"))
    check = next(c for c in duplicated.cells if c.id == "04_attend")
    answer_at = next(i for i, c in enumerate(duplicated.cells) if c.id == "04_attend_answer")
    duplicated.cells.insert(answer_at, copy.deepcopy(check))  # the check above its answer
    (tmp / "duplicated").mkdir()
    paths["duplicated"] = tmp / "duplicated" / "04_context_vector.ipynb"
    # written as plain JSON: nbformat.write would rename the repeated cell id
    paths["duplicated"].write_text(json.dumps(duplicated), encoding="utf-8")
    private = tmp / "grader-tmp"
    private.mkdir()
    limits = Limits(cell=5.0, part=12.0, notebook=120.0)  # room for a busy machine
    report = grade(list(paths.values()), limits=limits, jobs=2, tmp_dir=private)
    assert not list(private.iterdir())
    by_name = {name: report["notebooks"][i] for i, name in enumerate(paths)}
    return report, by_name


def _parts(entry: dict) -> dict[str, dict]:
    return {p["id"]: p for p in entry["parts"]}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_gains_no_points(attacked, name):
    _, by_name = attacked
    _, _, target = ATTACKS[name]
    parts = _parts(by_name[name])
    assert parts[target]["score"] == 0, parts[target]
    others = [p for p in parts.values() if p["id"] != target]
    assert all(p["status"] == "passed" for p in others), others  # the rest of the notebook


def test_a_classmate_graded_alongside_keeps_full_marks(attacked):
    _, by_name = attacked
    entry = by_name["classmate"]
    assert entry["score"] == entry["max"] > 0


def test_no_gradient_is_named(attacked):
    _, by_name = attacked
    assert "no gradient" in _parts(by_name["attention_under_no_grad"])["04_attend"]["message"]


@pytest.mark.parametrize("name", sorted(FAIRNESS))
def test_a_part_that_kills_or_stalls_its_process_costs_only_itself(attacked, name):
    _, by_name = attacked
    number, answers = FAIRNESS[name]
    broken = {cell_id.removesuffix("_answer") for cell_id in answers}
    parts = _parts(by_name[name])
    for part_id, part in parts.items():
        expected = "failed" if part_id in broken else "passed"
        assert part["status"] == expected, (part_id, part)


def test_keyboard_interrupt_is_reported_as_itself(attacked):
    _, by_name = attacked
    message = _parts(by_name["keyboard_interrupt"])["04_context_vector"]["message"]
    assert "KeyboardInterrupt" in message and "time" not in message


def test_endless_loop_is_reported_as_a_time_limit(attacked):
    _, by_name = attacked
    message = _parts(by_name["loop_ignoring_signals"])["02_bilinear_score"]["message"]
    assert "time limit" in message or "never ends" in message


def test_a_duplicated_check_above_its_answer_changes_nothing(attacked):
    _, by_name = attacked
    entry = by_name["duplicated"]
    assert entry["score"] == entry["max"] > 0


def _bubblewrap(report: dict) -> None:
    if report["isolation"] != "bubblewrap":
        reason = f"bubblewrap not usable here: {report.get('isolation_note')}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the sandbox must be tested)")
        pytest.skip(reason)


def test_sandbox_hides_classmates_and_protects_course_lib(attacked):
    import sys

    import course_lib

    report, by_name = attacked
    _bubblewrap(report)
    # no classmate's or published answer was found, so the stub stays a stub
    assert _parts(by_name["escape"])["02_dot_score"]["status"] == "not_implemented"
    written = [
        Path(course_lib.__file__).parent / f"pwned_{TOKEN}.py",
        Path(sys.prefix) / f"pwned_{TOKEN}",
    ]
    leaked = [path for path in written if path.exists()]
    for path in leaked:
        path.unlink()
    assert not leaked


def test_no_process_outlives_its_grading(attacked):
    report, by_name = attacked
    _bubblewrap(report)
    assert by_name["leftover"]["score"] == by_name["leftover"]["max"]
    alive = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if TOKEN.encode() in (proc / "cmdline").read_bytes():
                alive.append(int(proc.name))
        except OSError:
            continue
    for pid in alive:
        os.kill(pid, 9)
    assert not alive
