"""course_lib: the plumbing behind the attention course notebooks.

Import submodules explicitly (``from course_lib import attention``); importing the package has
no side effects: no seeding, no plotting style, no thread settings.
"""

__version__ = "0.1.0"
