#!/bin/bash
# Stops the service the last deployment started, if it still runs.
pidfile=/opt/inventory/run/inventory.pid
if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
  echo "inventory stopped"
fi
rm -f "$pidfile"
exit 0
