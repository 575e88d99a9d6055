"""`python -m course_lib.grade NOTEBOOK...`: grade exercise notebooks (logic in course_lib.grading)."""

RESULTS_ENV = "COURSE_GRADE_RESULTS"  # where the pytest plugin appends one JSON line per part
