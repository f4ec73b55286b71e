#!/bin/bash
# Makes the service's virtual environment and installs its requirements into it (pip only
# when requirements.txt lists something: this service needs only the standard library).
set -e
cd /opt/inventory
python3 -m venv --clear --without-pip venv
if grep -qvE '^\s*(#|$)' requirements.txt; then
  venv/bin/python -m ensurepip --upgrade
  venv/bin/python -m pip install --disable-pip-version-check -r requirements.txt
fi
echo "venv ready: $(venv/bin/python --version)"
