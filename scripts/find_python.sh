#!/usr/bin/env bash
# Print the Python 3.11 interpreter that `make venv` builds .venv with, or say how to get one.
#   bash scripts/find_python.sh            # tries python3.11, then python3
#   bash scripts/find_python.sh /opt/py/bin/python   # checks only this one (make ... PYTHON=...)
# Only 3.11 is tested (pyproject.toml: requires-python), so only 3.11 is accepted.
set -uo pipefail

NEEDED="3.11"

version_of() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

real_executable() {  # a pyenv or conda shim resolved to the interpreter it runs
    "$1" -c 'import sys; print(sys.executable)'
}

candidates=("$@")
[ "${#candidates[@]}" -gt 0 ] && [ -n "${candidates[0]}" ] || candidates=(python3.11 python3)

seen=()
for candidate in "${candidates[@]}"; do
    path="$(command -v "$candidate" 2>/dev/null)" || { seen+=("$candidate: not found"); continue; }
    version="$(version_of "$path")"
    if [ "$version" = "$NEEDED" ]; then
        real_executable "$path"
        exit 0
    fi
    seen+=("$candidate: ${version:-does not run} ($path)")
done

{
    echo "This course needs Python $NEEDED; none found. Looked for: $(IFS=';'; echo "${seen[*]}" | sed 's/;/; /g')."
    echo "Get Python $NEEDED in one of these ways, then run make again:"
    echo "  uv:     uv python install $NEEDED            then: make lab PYTHON=\"\$(uv python find $NEEDED)\""
    echo "  pyenv:  pyenv install $NEEDED                then: make lab PYTHON=\"\$(pyenv root)/versions/\$(pyenv latest $NEEDED)/bin/python\""
    echo "  conda:  conda env create -f environment.yml  then: conda activate attention-course; make lab"
    echo "  Debian/Ubuntu: sudo apt install python$NEEDED python$NEEDED-venv   then: make lab"
    echo "Any Python $NEEDED works: make lab PYTHON=/path/to/python$NEEDED"
} >&2
exit 1
