# shellcheck shell=bash
# Sourced by the HTTP benchmarks (bench/http_bench, bench/history_bench):
# the processes they start, FastCGI responders behind private nginx servers
# on 127.0.0.1, and how they stop them and read their CPU time.
#
#   repo=...; dir=...; die() { ...; exit 1; }
#   source "$repo/bench/lib/http_stack.sh"
#   start "$dir/x.log" some-server ...    # its pid in $started
#   start_nginx x-nginx "unix:$dir/x.sock"  # its port in $port
#
# The caller defines die (prints its message, exits non-zero), repo (the
# repository) and dir (the scratch directory, before start_nginx), and calls
# stop_jobs from its EXIT trap: every process started here is a background
# job of the calling shell.

# Stops the background jobs of this shell still running (servers, wrk,
# perf): TERM, up to 5 s each to finish, then KILL.
# shellcheck disable=SC2317 # called from the caller's EXIT trap
stop_jobs() {
  local pid waited running
  running=$(jobs -pr)
  for pid in $running; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $running; do
    for ((waited = 0; waited < 50; ++waited)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# start LOG COMMAND...: COMMAND as a background job, output to LOG; its pid
# is in $started.
start() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  started=$!
}

# wait_ready PID LOG WHAT COMMAND...: waits until COMMAND succeeds; fails the
# run when PID exits first or after 30 s.
wait_ready() {
  local pid=$1 log=$2 what=$3 tries
  shift 3
  for ((tries = 0; tries < 300; ++tries)); do
    if "$@"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || die "$what exited at start; $log says: $(tail -n 5 "$log")"
    sleep 0.1
  done
  die "$what was not ready after 30 s; $log says: $(tail -n 5 "$log")"
}

# free_port VAR: a TCP port on 127.0.0.1 nothing listens on, below Linux's
# default ephemeral range (32768-60999), not handed out before in this run.
ports_given=" "
free_port() {
  local candidate
  for (( ; ; )); do
    candidate=$((20000 + RANDOM % 12000))
    [[ $ports_given != *" $candidate "* ]] || continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then break; fi
  done
  ports_given+="$candidate "
  printf -v "$1" %d "$candidate"
}

# Any HTTP answer at all (curl's exit status 0 without --fail).
http_answers() { curl -s -o /dev/null --max-time 5 "$1"; }

# start_nginx NAME FASTCGI_PASS [TEMPLATE]: nginx from TEMPLATE (default
# fcgi/nginx.conf.in), in $dir/NAME, rendered as tests/harness/server_stack.cc
# renders it; its port goes to $port.
# shellcheck disable=SC2154 # repo and dir are the caller's
start_nginx() {
  local name=$1 pass=$2 template=${3:-$repo/fcgi/nginx.conf.in} attempt tries conf
  local prefix=$dir/$name
  mkdir -p "$prefix"
  conf=$(<"$template")
  conf=${conf//@USER@/"$(id -un)"}
  conf=${conf//@FASTCGI_PASS@/"$pass"}
  conf=${conf//@MOUNT@/}
  conf=${conf//@MAX_BODY@/16m}  # above kvs's limits.max_body_bytes, as docs/deployment.md advises
  # The port may be taken between free_port and nginx's bind: try again.
  for ((attempt = 0; attempt < 5; ++attempt)); do
    free_port port
    printf '%s\n' "${conf//@LISTEN@/127.0.0.1:$port}" >"$prefix/nginx.conf"
    start "$prefix/nginx.log" nginx -p "$prefix/" -c "$prefix/nginx.conf" \
      -e "$prefix/error.log" -g "daemon off; pid $prefix/nginx.pid;"
    for ((tries = 0; tries < 300; ++tries)); do
      if http_answers "http://127.0.0.1:$port/"; then return 0; fi
      kill -0 "$started" 2>/dev/null || break
      sleep 0.1
    done
    grep -qs 'Address already in use' "$prefix/error.log" "$prefix/nginx.log" ||
      die "nginx ($name) did not start: $(cat "$prefix/error.log" "$prefix/nginx.log")"
    kill -TERM "$started" 2>/dev/null || true
    wait "$started" 2>/dev/null || true
  done
  die "nginx ($name) found no free port in 5 tries"
}

# without_keepalive TEMPLATE: the nginx template TEMPLATE on stdout without
# its kept FastCGI connections (the upstream's keepalive lines and
# fastcgi_keep_conn on): an upstream with a server alone keeps none.
without_keepalive() {
  sed -e '/^ *keepalive\( \|_timeout \)/d' -e '/^ *fastcgi_keep_conn on;/d' "$1"
}

# noop_template: the path of fcgi/nginx.conf.in without kept connections
# (written in $dir), for the nginx in front of noop_fcgi: libfcgi holds its
# accept lock while it waits for the next request on a kept connection, so
# one thread at a time would serve.
# shellcheck disable=SC2154 # repo and dir are the caller's
noop_template() {
  without_keepalive "$repo/fcgi/nginx.conf.in" >"$dir/noop-nginx.conf.in"
  echo "$dir/noop-nginx.conf.in"
}

# cpu_ticks PID...: the user + system CPU time of these processes so far, in
# clock ticks (fields 14 and 15 of /proc/PID/stat, counted after the ")"
# that ends the command name).
cpu_ticks() {
  local pid stat fields total=0
  for pid in "$@"; do
    stat=$(<"/proc/$pid/stat") || die "process $pid is gone"
    read -ra fields <<<"${stat##*) }"
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

# cpu_ns PID...: the CPU time of these processes' threads so far, in ns
# (the first field of /proc/PID/task/TID/schedstat). Finer than cpu_ticks'
# 10 ms ticks, for cases of a few hundred sub-millisecond requests; threads
# that have exited no longer count, so it suits servers with fixed threads.
cpu_ns() {
  local pid task fields total=0
  for pid in "$@"; do
    for task in /proc/"$pid"/task/*/schedstat; do
      read -ra fields <"$task" || die "process $pid is gone"
      total=$((total + fields[0]))
    done
  done
  echo "$total"
}
