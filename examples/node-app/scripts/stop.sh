#!/bin/bash
# Stops the service the last deployment started, if it still runs.
pidfile=/srv/notes/run/notes.pid
if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
  echo "notes stopped"
fi
rm -f "$pidfile"
exit 0
