#!/usr/bin/env bash
# Enforces hearth's dependency rules (docs/dev/architecture.md) on direct imports, tests included.
# Prints every violation and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=github.com/hearthfn/hearth
fail=0

# Each rule: a regexp of imported packages, and a regexp of the packages allowed to import them.
rules=(
  "^github.com/docker/(docker|go-connections)|$mod/agent/driver/docker$|$mod/builder/docker$"
  "^github.com/hashicorp/go-plugin|$mod/agent/driver/plugin(/.*)?$"
  "^github.com/hashicorp/nomad/api|$mod/agent/driver/nomad$"
  "^github.com/hashicorp/yamux|$mod/agent/remote$|$mod/agent/daemon$|$mod/scheduler/nodes$"
  "^github.com/gorilla/mux|$mod/scheduler/httpapi$"
  "^modernc.org/sqlite|$mod/scheduler/store/sqlstore$"
  "^github.com/spf13/cobra|$mod/cli(/.*)?$|$mod/cmd/hearth$"
  "^$mod/cli(/.*)?$|$mod/cli(/.*)?$|$mod/cmd/hearth$"
  "^$mod/web$|$mod/cmd/hearth$"
  "^$mod/agent/node$|$mod/scheduler/server$|$mod/cmd/hearth$|$mod/agent/node(/.*)?$"
  "^$mod/scheduler(/.*)?$|$mod/scheduler(/.*)?$|$mod/cmd/hearth$|$mod/e2e$|$mod/bench$"
)

list=$(go list -tags 'integration e2e' -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./...)

for rule in "${rules[@]}"; do
  IFS='|' read -r target allowed <<<"$rule"
  while read -r pkg imports; do
    base=${pkg%_test}
    for imp in $imports; do
      if [[ $imp =~ $target ]] && ! [[ $base =~ $allowed ]]; then
        echo "check-imports: $pkg imports $imp (only ${allowed//\$/} may)"
        fail=1
      fi
    done
  done <<<"$list"
done

# The shared leaves, and the outbound address policy, import only the standard library (api may
# use runtimes/contract).
for leaf in api agent/instance runtimes/contract scheduler/outbound; do
  for imp in $(go list -f '{{join .Imports " "}}' "./$leaf"); do
    case $imp in
      *.*/*) [[ $leaf == api && $imp == $mod/runtimes/contract ]] || { echo "check-imports: $mod/$leaf imports $imp (stdlib only)"; fail=1; } ;;
    esac
  done
done
exit $fail
