"""Where the course's folders are: the one place the repository root is computed.

``COURSE_ROOT`` is the checkout that holds this package (``notebooks/``, ``solutions/``,
``exercises/``, ``scripts/``, ``tests/``); it is meaningful when course_lib is used from the
repository (``make venv`` installs it editable), not from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
