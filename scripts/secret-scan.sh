#!/usr/bin/env bash
# Fails when a tracked file looks like it holds a secret: private keys, cloud
# keys, bearer tokens or passwords written out in config.
set -u
cd "$(dirname "$0")/.."
patterns=(
  '-----BEGIN [A-Z ]*PRIVATE KEY-----'
  'AKIA[0-9A-Z]{16}'
  'xox[baprs]-[0-9A-Za-z-]{10,}'
  'gh[pousr]_[0-9A-Za-z]{36}'
  'WEB_TOKEN *[:=] *["'"'"']?[A-Za-z0-9_\-]{8,}'
  'Authorization: Bearer [A-Za-z0-9_\-]{16,}'
)
found=0
for p in "${patterns[@]}"; do
  if hits=$(git ls-files -z | xargs -0 grep -nIE -- "$p" -- 2>/dev/null | grep -v '^scripts/secret-scan.sh:'); then
    echo "possible secret ($p):"; echo "$hits"; found=1
  fi
done
[ "$found" -eq 0 ] && echo "secret scan: no secrets in $(git ls-files | wc -l) tracked files"
exit "$found"
