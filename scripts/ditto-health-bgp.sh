#!/usr/bin/env bash
# The health loop between ditto and BIRD: every INTERVAL seconds it asks
# `dittoctl health` whether this node should be announced, and switches
# BIRD's service protocols (scripts/bird/bird.conf) on or off to match.
#
#   ditto-health-bgp.sh [options] [-- DITTOCTL_OPTIONS...]
#     --interval SEC    seconds between checks (default 1; fractions allowed)
#     --rise N          healthy checks in a row before announcing (default 2)
#     --fall N          failed checks in a row before withdrawing (default 1)
#     --config FILE     the node's YAML file, for dittoctl (default
#                       /etc/ditto/ditto.yaml; "" to pass none)
#     --max-expired N   expired zones tolerated (dittoctl health --max-expired)
#     --timeout SEC     how long dittoctl waits for each process's answer
#                       (dittoctl --timeout; default 2: a wedged node is a
#                       sick node); one that has not finished by twice that
#                       plus a second is killed and counts as a failure
#     --protocols PAT   BIRD protocol name or pattern (default "ditto_service*")
#     --bird-socket P   BIRD's control socket (default /run/bird/bird.ctl)
#     --dittoctl PATH   (default: dittoctl from PATH)
#     --birdc PATH      (default: birdc from PATH)
#     --once            one check, one switch, then exit (0 healthy, 1 not)
#   Each option may also come from the environment (the systemd unit's
#   /etc/default/ditto-health-bgp): DITTO_HEALTH_INTERVAL, _RISE, _FALL,
#   _CONFIG, _MAX_EXPIRED, _TIMEOUT, _PROTOCOLS, _BIRD_SOCKET, _DITTOCTL,
#   _BIRDC, and DITTO_HEALTH_DITTOCTL_ARGS (words put before `health`).
#
# Why `birdc enable/disable` of static protocols, and not a route that the
# loop adds to a kernel table for BIRD to learn: the prefixes and how they
# are announced stay in one place (bird.conf), the loop only says on or off;
# nothing in the node's kernel changes (no extra routing table, no kernel
# protocol learning from it, no route there that the node's own traffic
# could meet); and a BIRD that restarts comes up withdrawn (the protocols
# say `disabled yes`) until this loop has seen the node healthy, where a
# kernel route would be learnt and announced again by a restarted BIRD
# whether or not anyone still checks the node.
#
# The switch is said again on every check, not only on a change (birdc
# answers "already enabled" when there is nothing to do), so a BIRD that
# restarted or was reconfigured is brought back to the right state within
# one interval. Lines are logged only when the state or an error changes.
# On SIGTERM or SIGINT the loop withdraws before it exits: a node whose
# health nobody watches is not announced.
set -uo pipefail

interval=${DITTO_HEALTH_INTERVAL:-1}
rise=${DITTO_HEALTH_RISE:-2}
fall=${DITTO_HEALTH_FALL:-1}
config=${DITTO_HEALTH_CONFIG-/etc/ditto/ditto.yaml}
max_expired=${DITTO_HEALTH_MAX_EXPIRED:-}
timeout_s=${DITTO_HEALTH_TIMEOUT:-2}
protocols=${DITTO_HEALTH_PROTOCOLS:-ditto_service*}
bird_socket=${DITTO_HEALTH_BIRD_SOCKET:-/run/bird/bird.ctl}
dittoctl=${DITTO_HEALTH_DITTOCTL:-dittoctl}
birdc=${DITTO_HEALTH_BIRDC:-birdc}
once=0
# shellcheck disable=SC2206  # words, as the unit's environment gives them
dittoctl_args=(${DITTO_HEALTH_DITTOCTL_ARGS:-})

log() { echo "ditto-health-bgp: $*"; }
die() { echo "ditto-health-bgp: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --interval) interval=${2:?}; shift 2 ;;
    --rise) rise=${2:?}; shift 2 ;;
    --fall) fall=${2:?}; shift 2 ;;
    --config) config=${2?}; shift 2 ;;
    --max-expired) max_expired=${2:?}; shift 2 ;;
    --timeout) timeout_s=${2:?}; shift 2 ;;
    --protocols) protocols=${2:?}; shift 2 ;;
    --bird-socket) bird_socket=${2:?}; shift 2 ;;
    --dittoctl) dittoctl=${2:?}; shift 2 ;;
    --birdc) birdc=${2:?}; shift 2 ;;
    --once) once=1; shift ;;
    --) shift; dittoctl_args+=("$@"); break ;;
    -h | --help) usage ;;
    *) echo "ditto-health-bgp: unknown option $1" >&2; usage ;;
  esac
done

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_seconds() { [[ $1 =~ ^([0-9]+(\.[0-9]+)?|\.[0-9]+)$ ]] && [[ ! $1 =~ ^[0.]+$ ]]; }
is_count "$rise" || die "--rise: a count of at least 1, not '$rise'"
is_count "$fall" || die "--fall: a count of at least 1, not '$fall'"
is_seconds "$interval" || die "--interval: seconds greater than 0, not '$interval'"
is_seconds "$timeout_s" || die "--timeout: seconds greater than 0, not '$timeout_s'"
[ -z "$max_expired" ] || [[ $max_expired =~ ^[0-9]+$ ]] ||
  die "--max-expired: a count, not '$max_expired'"
command -v "$dittoctl" >/dev/null || die "no dittoctl at '$dittoctl'"
command -v "$birdc" >/dev/null || die "no birdc at '$birdc' (apt-get install bird2)"
command -v timeout >/dev/null || die "no timeout(1) (coreutils)"

health_cmd=("$dittoctl" --timeout "$timeout_s" "${dittoctl_args[@]}")
[ -z "$config" ] || health_cmd+=(--config "$config")
health_cmd+=(health)
[ -z "$max_expired" ] || health_cmd+=(--max-expired "$max_expired")

# One check: 0 healthy, 1 not; the reason in $reason.
reason=
check() {
  local out rc
  out=$(timeout --kill-after=1 "$(awk "BEGIN { print 2 * $timeout_s + 1 }")" \
    "${health_cmd[@]}" 2>&1)
  rc=$?
  reason=$(printf '%s' "$out" | tr '\n' ' ' | sed 's/ *$//')
  case $rc in
    0) return 0 ;;
    1) [ -n "$reason" ] || reason="dittoctl health: not healthy (no reason given)" ;;
    124 | 137) reason="dittoctl health: did not finish in time (killed)" ;;
    2) reason="dittoctl health: usage error (is the loop configured right?): $reason" ;;
    *) reason="dittoctl health: exit status $rc: $reason" ;;
  esac
  return 1
}

# Tell BIRD: enable or disable. 0 when BIRD took it.
bird_error=
switch() {
  local out rc
  out=$(timeout 5 "$birdc" -s "$bird_socket" "$1" "\"$protocols\"" 2>&1)
  rc=$?
  # birdc exits 0 even when BIRD refuses a command; refusals and
  # unmatched patterns are replies without "abled" in them.
  if [ $rc -ne 0 ] || ! grep -q 'abled' <<<"$out"; then
    local e
    e="birdc $1 \"$protocols\" failed (exit $rc): $(tr '\n' ' ' <<<"$out")"
    [ "$e" = "$bird_error" ] || log "$e"
    bird_error=$e
    return 1
  fi
  [ -z "$bird_error" ] || log "BIRD answers again"
  bird_error=
  return 0
}

stopping=0
# shellcheck disable=SC2317  # the trap calls it
on_stop() { stopping=1; }
trap on_stop TERM INT

if [ $once -eq 1 ]; then
  if check; then
    switch enable && log "healthy: announced"
    exit 0
  fi
  switch disable && log "not healthy, withdrawn: $reason"
  exit 1
fi

# Start withdrawn: announce only after RISE healthy checks.
announced=0
ok_run=0
bad_run=0
last_reason=
log "checking every ${interval} s (rise $rise, fall $fall): ${health_cmd[*]}"
switch disable || true
while [ $stopping -eq 0 ]; do
  if check; then
    ok_run=$((ok_run + 1))
    bad_run=0
    if [ $announced -eq 0 ] && [ $ok_run -ge "$rise" ]; then
      announced=1
      log "healthy: announcing $protocols"
    fi
    last_reason=
  else
    bad_run=$((bad_run + 1))
    ok_run=0
    if [ $announced -eq 1 ] && [ $bad_run -ge "$fall" ]; then
      announced=0
      log "not healthy, withdrawing $protocols: $reason"
    elif [ "$reason" != "$last_reason" ]; then
      log "not healthy: $reason"
    fi
    last_reason=$reason
  fi
  if [ $announced -eq 1 ]; then switch enable; else switch disable; fi
  [ $stopping -eq 0 ] || break
  # sleep in the background so that a signal ends the wait at once
  sleep "$interval" &
  wait $! 2>/dev/null
  kill $! 2>/dev/null
done
if switch disable; then
  log "stopped: withdrawn"
else
  log "stopped; could not withdraw (BIRD not answering)"
fi
exit 0
