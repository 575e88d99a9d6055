"""The auto-grader, in one package: `python -m course_lib.grade NOTEBOOK_OR_FOLDER...`.

The walk, module by module:
- restore.py: the learner's file with the released cells put back; the parts it must have;
- verdict.py: the cases each part is tried on, drawn at grading time, and their judge;
- sandbox.py: a bubblewrap sandbox (or a process group) per notebook, results over its pipe;
- harness.py / attempt.py: inside the sandbox, one forked child per part runs the answers;
- wire.py: plain data in and out (JSON, tensors as raw bytes), never pickle;
- outcome.py: a part's status, message and matched mistake; report.py: JSON and table;
- gradebook.py: gradebook CSVs (course, Canvas, Moodle), formula-safe;
- classview.py / classpage.py: the class report as data and as one HTML page;
- feedback.py: one HTML page per learner and exercise; sample_class.py: a made-up class;
- grader.py: the walk itself (`grade()`); __main__.py: the command line.

Importing this package imports nothing else, so the sandbox's harness starts light.
"""
