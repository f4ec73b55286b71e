#!/bin/bash
# Installs the service's packages from its lock file (it has none to download).
set -e
cd /srv/notes
npm ci --omit=dev --no-audit --no-fund
