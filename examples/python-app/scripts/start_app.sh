#!/bin/bash
# Starts the service from its virtual environment in the background, and records its PID.
set -e
cd /opt/inventory
mkdir -p run
nohup venv/bin/python -m inventory > run/inventory.log 2>&1 &
echo $! > run/inventory.pid
echo "inventory started (pid $(cat run/inventory.pid))"
