#!/usr/bin/env bash
# Smoke test of `mlcore tui` in a real terminal: start it in tmux, send keys,
# read the screen back with capture-pane, and check what it shows.
#
#   scripts/tui_smoke.sh            # on a fresh store
#   MLCORE=/path/to/mlcore scripts/tui_smoke.sh
#
# Exits 0 when every check passes; otherwise prints the screen and exits 1.
set -euo pipefail

MLCORE=${MLCORE:-mlcore}
session="mlcore-smoke-$$"
work=$(mktemp -d)
store="$work/store"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"' EXIT

fail() {
    echo "tui_smoke: FAIL: $1" >&2
    tmux capture-pane -p -t "$session" >&2 2>/dev/null || true
    exit 1
}

# Poll the captured screen (up to ~20 s) until it shows $1.
expect() {
    for _ in $(seq 1 100); do
        if tmux capture-pane -p -t "$session" 2>/dev/null | grep -qF -- "$1"; then
            return 0
        fi
        sleep 0.2
    done
    fail "the screen never showed '$1'"
}

# Poll until the screen no longer shows $1.
expect_gone() {
    for _ in $(seq 1 100); do
        if ! tmux capture-pane -p -t "$session" 2>/dev/null | grep -qF -- "$1"; then
            return 0
        fi
        sleep 0.2
    done
    fail "the screen kept showing '$1'"
}

keys() { tmux send-keys -t "$session" "$@"; }

"$MLCORE" --as smoke init "$store" >/dev/null 2>&1 || fail "mlcore init failed"

tmux new-session -d -s "$session" -x 100 -y 30 \
    "$MLCORE --store '$store' --as smoke tui --interval 1; echo \$? > '$work/exit'"

expect "mlcore › Overview"
expect "chain verified: 1 entries"
expect "smoke  refreshed"

keys 6
expect "mlcore › Audit"
expect "store.create"

keys : m o Tab Enter
expect "mlcore › Models"
expect "no models registered yet"

keys 5
expect "mlcore › Monitoring"
expect "no monitors yet"
expect "k  ack"

# another process writes while the TUI is open; the next refresh shows it
"$MLCORE" --store "$store" --as smoke access grant eve reviewer >/dev/null 2>&1 \
    || fail "a second process could not write while the TUI was open"
keys 6
expect "actor:eve"

keys '?'
expect "Keys (here: Audit)"
keys Escape  # alone: Escape followed at once by a key reads as Alt+key
expect_gone "Keys (here: Audit)"
keys q

for _ in $(seq 1 50); do
    [ -f "$work/exit" ] && break
    sleep 0.2
done
[ -f "$work/exit" ] || fail "q did not quit"
[ "$(cat "$work/exit")" = "0" ] || fail "mlcore tui exited with $(cat "$work/exit")"
echo "tui_smoke: ok"
