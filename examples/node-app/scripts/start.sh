#!/bin/bash
# Starts the service in the background, its output in a log, and records its PID.
set -e
cd /srv/notes
mkdir -p run
nohup node server.js > run/notes.log 2>&1 &
echo $! > run/notes.pid
echo "notes started (pid $(cat run/notes.pid))"
