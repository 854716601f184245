#!/usr/bin/env bash
# Mutation matrix of the dmfs reference backend (issue 7): for every
# fault-injection switch of the kernel client (module parameters fi_*) and
# of the server (dmfsd --fault NAME), run the conformance suite on dmfs with
# two clients in the qemu guest and record which checks catch it.
#
# One guest boot for all switches: the module is loaded once; kernel
# switches are toggled in /sys/module/dmfs/parameters between suite runs,
# and dmfsd is restarted (fresh export) for every run.
#
# Usage (host):
#   mutation-matrix.sh run BUILD_DIR OUT_DIR [--doc FILE] [--clients N]
#                      [--only SW1,SW2] [--run-timeout S] [--conform-args "..."]
#       (SW: baseline, kmod:fi_..., dmfsd:NAME, as the matrix names them)
#       (conform args default: --known-failures tests/dmfs-known-failures.txt)
#       boots the guest (ci/guest-run), writes OUT_DIR/<switch>/conformance.json
#       (+ status, dmesg.log, console.log), then generates the matrix (FILE,
#       default: stdout only) and exits 1 if a switch is caught by no check
#       or the unmodified baseline does not pass.
#   mutation-matrix.sh gen OUT_DIR          matrix (markdown) on stdout
#   mutation-matrix.sh claims MATRIX CATALOG [--check]  writes into CATALOG
#       (docs/conformance.md), between its "mutation-claims" markers, which
#       switches make each check fail, read from MATRIX (docs/mutation-matrix.md);
#       --check: exit 1 if that block differs, or if CATALOG names a switch
#       anywhere else (a claim not taken from the matrix) (no guest)
#   mutation-matrix.sh verify DOC BUILD_DIR  the DOC lists every switch the
#       module and dmfsd have, each caught by >= 1 check or listed in
#       mutation-known-holes.txt (and no listed one caught) (no guest)
#   mutation-matrix.sh guest BUILD_DIR CLIENTS RUN_TIMEOUT CONFORM_ARGS SW...
#       (inside the guest; used by "run")
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../../.." && pwd)
kmod_switches=(fi_skip_fault_lock fi_skip_mkwrite_pw fi_skip_writeback fi_even_cows fi_skip_exec_check)

usage() { sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# Server switches as dmfsd lists them (one per line, first word).
server_switches() {
  "$1/reference/dmfsd" --list-faults 2>/dev/null | awk 'NF && $1 !~ /:$/ {print $1}'
}

# Module switches: the fi_* parameters of the built dmfs.ko (modinfo), so a
# new one cannot be left out of the matrix; the known list without a module.
module_switches() {
  local ko=$1/reference/kmod/kbuild/dmfs.ko
  if [ -f "$ko" ] && modinfo -p "$ko" >/dev/null 2>&1; then
    modinfo -p "$ko" | sed -n 's/^\(fi_[a-z_]*\):.*/\1/p'
  else
    printf '%s\n' "${kmod_switches[@]}"
  fi
}

all_switches() {
  local s
  echo baseline
  for s in $(module_switches "$1"); do echo "kmod:$s"; done
  for s in $(server_switches "$1"); do echo "dmfsd:$s"; done
}

# ---------------------------------------------------------------- guest ----
guest_one() {
  local build=$1 clients=$2 tmo=$3 cargs=$4 sw=$5
  local res="$DMMAP_OUT/${sw/:/-}" exp=/run/mm-export port=7049 i dirs=() p admin=/run/mm-admin.sock
  local srv_args=() rc t0 t1 dm0 pid
  mkdir -p "$res"
  case $sw in
    kmod:*) echo 1 >"/sys/module/dmfs/parameters/${sw#kmod:}" ;;
    dmfsd:*) srv_args=(--fault "${sw#dmfsd:}") ;;
  esac
  mkdir -p "$exp"
  mount -t tmpfs -o mode=1777 mm-export "$exp"
  "$build/reference/dmfsd" --root "$exp" --listen "127.0.0.1:$port" \
    --admin "$admin" --revoke-timeout 10s "${srv_args[@]}" >"$res/dmfsd.log" 2>&1 &
  pid=$!
  for i in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  for ((i = 0; i < clients; i++)); do
    mkdir -p "/run/mm-client$i"
    mount -t dmfs -o "server=127.0.0.1:$port" none "/run/mm-client$i" || echo "mount $i failed" >>"$res/console.log"
    dirs+=("/run/mm-client$i")
  done
  dm0=$(dmesg | wc -l)
  t0=$(date +%s)
  # shellcheck disable=SC2086
  # The target hook of the eviction checks, as ci/guest/targets/dmfs.sh sets it.
  DMMAP_HOOK=$src/ci/guest/targets/dmfs-hook DMMAP_DMFS_ADMIN=$admin DMMAP_DMFSD=$build/reference/dmfsd \
    timeout -k 10 "$tmo" mpirun --allow-run-as-root --oversubscribe -np "$clients" \
    "$build/conformance/dmmap-conform" --dirs "$(IFS=,; echo "${dirs[*]}")" \
    --report "$res" $cargs >>"$res/console.log" 2>&1
  rc=$?
  t1=$(date +%s)
  for p in "${dirs[@]}"; do
    umount "$p" 2>/dev/null || { sleep 2; umount "$p" 2>/dev/null; } || umount -l "$p"
  done
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  umount "$exp" || umount -l "$exp"
  case $sw in kmod:*) echo 0 >"/sys/module/dmfs/parameters/${sw#kmod:}" ;; esac
  dmesg | tail -n +"$((dm0 + 1))" >"$res/dmesg.log"
  {
    echo "switch=$sw"
    echo "exit=$rc"
    echo "seconds=$((t1 - t0))"
    echo "args=${cargs//$src\//}"
    echo "kernel_reports=$(grep -cE 'WARNING:|BUG:|Oops|general protection|INFO: task .* blocked|refcount_t:|list_(add|del) corruption' "$res/dmesg.log")"
  } >"$res/status"
  echo "mutation-matrix: $sw exit $rc in $((t1 - t0)) s"
}

guest_main() {
  local build=$1 clients=$2 tmo=$3 cargs=$4 sw
  shift 4
  insmod "$build/reference/kmod/kbuild/dmfs.ko" || exit 1
  for sw in "$@"; do
    guest_one "$build" "$clients" "$tmo" "$cargs" "$sw"
  done
  rmmod dmfs
}

# ------------------------------------------------------------ generator ----
gen() {
  python3 - "$1" "$(date -u +%Y-%m-%d)" <<'EOF'
import json, os, re, sys
out, day = sys.argv[1], sys.argv[2]
rows, holes, bad_base = [], [], False
try:
    cargs = open(os.path.join(out, "conform-args")).read().strip()
except OSError:
    cargs = ""
def status(d):
    st = {}
    try:
        for line in open(os.path.join(d, "status")):
            k, _, v = line.strip().partition("=")
            st[k] = v
    except OSError:
        pass
    return st
dirs = sorted(x for x in os.listdir(out) if not x.startswith(".")
              and os.path.isfile(os.path.join(out, x, "status")))
order = lambda x: (0 if x == "baseline" else 1 if x.startswith("kmod-") else 2, x)
for d in sorted(dirs, key=order):
    p = os.path.join(out, d)
    st = status(p)
    sw = st.get("switch", d)
    caught, verdict, passed, env = [], "no report", 0, {}
    try:
        j = json.load(open(os.path.join(p, "conformance.json")))
        verdict = j.get("verdict", "?")
        for c in j["checks"]:
            if c["verdict"] in ("FAIL", "HANG"):
                why = c.get("message") or "; ".join(c.get("details", [])[:1])
                caught.append((c["id"], c["verdict"], why))
            elif c["verdict"] in ("PASS", "XFAIL"):
                passed += 1
    except (OSError, ValueError, KeyError):
        con = ""
        try:
            con = open(os.path.join(p, "console.log")).read()
        except OSError:
            pass
        if "scratch set-up" in con or "cannot see the marker" in con:
            caught.append(("(scratch set-up: target pre-check)", "FAIL",
                           "rank 1 cannot read the marker rank 0 wrote"))
        # A suite killed at the run timeout wrote no report, but the verdicts
        # it printed as each check ended stand; the row says the run was cut.
        for m in re.finditer(r"^\[ *(\d+)/(\d+)\] (\S+) +(FAIL|HANG)\b.*?\d+\.\d+ s  (.*)$", con, re.M):
            caught.append((m.group(3), m.group(4), m.group(5)))
        done = re.findall(r"^\[ *(\d+)/(\d+)\] ", con, re.M)
        if done and st.get("exit") == "124":
            verdict = "killed at the run timeout after %s of %s checks" % done[-1]
            passed = len(re.findall(r"^\[ *\d+/\d+\] \S+ +(PASS|XFAIL)\b", con, re.M))
    reports = st.get("kernel_reports", "?")
    if sw == "baseline":
        if caught or verdict != "PASS" or reports not in ("0",):
            bad_base = True
    elif not caught:
        holes.append(sw)
    # A row re-run with other arguments than the matrix's says so in its cell.
    if st.get("args", cargs) != cargs:
        sw_note = " (run with `%s`)" % st["args"]
    else:
        sw_note = ""
    rows.append((sw, st.get("exit", "?"), st.get("seconds", "?"), verdict, passed, caught, reports, sw_note))
print("# Mutation matrix of the dmfs reference backend\n")
print("Generated by `reference/kmod/tests/mutation-matrix.sh gen` from the "
      "`conformance.json` of each run (%s). Do not edit by hand: re-run\n" % day)
print("```\nreference/kmod/tests/mutation-matrix.sh run BUILD_DIR OUT_DIR --doc docs/mutation-matrix.md\n```\n")
print(("Each row is one run of `dmmap-conform%s` (all checks, strict, 2 clients = 2 "
      "mounts of one `dmfsd`) in the qemu guest with exactly one fault-injection "
      "switch on: a kernel-module parameter (`kmod:`, toggled in "
      "`/sys/module/dmfs/parameters/`) or a server switch (`dmfsd:` = "
      "`dmfsd --fault NAME`), with the dmfs target hook "
      "(`ci/guest/targets/dmfs-hook`) so that the eviction checks run. A switch is *caught* when at least one check FAILs "
      "or HANGs. `baseline` (no switch) must pass. Checks listed in "
      "`reference/kmod/tests/dmfs-known-failures.txt` run as known failures "
      "(XFAIL, counted with the passes; they catch nothing). Switch meanings: "
      "[kmod.md](kmod.md#fault-injection-all-off-by-default-each-disables-one-seed-duty), "
      "[dmfsd.md](dmfsd.md#fault-injection).\n") % (" " + cargs if cargs else ""))
print("| switch | caught by | suite verdict | checks PASS/XFAIL | exit | s | kernel reports |")
print("|---|---|---|---|---|---|---|")
for sw, ex, secs, verdict, passed, caught, reports, sw_note in rows:
    by = "<br>".join("`%s` %s" % (i, v) for i, v, _ in caught) or ("—" if sw == "baseline" else "**nothing (hole)**")
    print("| `%s` | %s | %s%s | %d | %s | %s | %s |" % (sw, by, verdict, sw_note, passed, ex, secs, reports))
print()
print("## Why each check failed (first message)\n")
for sw, ex, secs, verdict, passed, caught, reports, _ in rows:
    for i, v, why in caught:
        why = " ".join(why.split())[:300].replace("|", "\\|")
        print("- `%s` → `%s` %s: %s" % (sw, i, v, why or "(no message)"))
print()
if bad_base:
    print("**The baseline did not pass: the matrix above is not meaningful.**\n")
print("## Holes\n")
if holes:
    for h in holes:
        print("- `%s`: caught by no check: the catalog needs a check for the duty it disables" % h)
else:
    print("None: every switch is caught by at least one check.")
sys.exit(1 if holes or bad_base else 0)
EOF
}

# --------------------------------------------------------------- claims ----
claims() {
  python3 - "$@" <<'EOF'
import re, sys
matrix, catalog, check = sys.argv[1], sys.argv[2], "--check" in sys.argv[3:]
BEGIN = "<!-- mutation-claims: generated by reference/kmod/tests/mutation-matrix.sh claims; do not edit -->"
END = "<!-- mutation-claims: end -->"
caught, switches, day = {}, [], "?"
for line in open(matrix):
    m = re.match(r"Generated by .*\((\d{4}-\d{2}-\d{2})\)", line)
    if m:
        day = m.group(1)
    m = re.match(r"\| `([^`]+)` \| (.*?) \| ", line)
    if not m or m.group(1) == "switch":
        continue
    sw = m.group(1)
    if sw != "baseline":
        switches.append(sw)
    for cid, verdict in re.findall(r"`([a-z]+\.[a-z-]+)` (FAIL|HANG)", m.group(2)):
        caught.setdefault(cid, []).append(sw if verdict == "FAIL" else sw + " (HANG)")
text = open(catalog).read()
ids = re.findall(r"^### `([a-z]+\.[a-z-]+)`", text, re.M)
rows = [BEGIN, "",
        "| check | dmfs switches that make it fail ([mutation-matrix.md](mutation-matrix.md), run of %s) |" % day,
        "|---|---|"]
for cid in ids:
    rows.append("| `%s` | %s |" % (cid, ", ".join("`%s`" % s for s in caught.get(cid, [])) or "none"))
rows += ["", END]
block = "\n".join(rows)
if BEGIN not in text or END not in text:
    sys.exit("claims: %s has no mutation-claims markers" % catalog)
head, rest = text.split(BEGIN, 1)
_, tail = rest.split(END, 1)
new = head + block + tail
if not check:
    open(catalog, "w").write(new)
    sys.exit(0)
bad = 0
if new != text:
    print("claims: the block in %s differs from %s: run mutation-matrix.sh claims %s %s" % (catalog, matrix, matrix, catalog))
    bad = 1
names = sorted({s.split(":", 1)[1] for s in switches}, key=len, reverse=True)
for n, line in enumerate((head + tail).splitlines(), 1):
    if re.search(r"dmfs (client |kernel client |server )?switch|\*[^*]+\* \(a dmfs switch\)", line, re.I):
        print("claims: %s line %d claims a dmfs switch by hand: %s" % (catalog, n, line.strip()))
        bad = 1
    for name in names:
        if re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(name), line):
            print("claims: %s line %d names the switch %s outside the generated block: %s" % (catalog, n, name, line.strip()))
            bad = 1
            break
sys.exit(bad)
EOF
}

# --------------------------------------------------------------- verify ----
verify() {
  local doc=$1 build=$2 sw row fail=0 holes=$here/mutation-known-holes.txt hole
  [ -f "$doc" ] || { echo "verify: $doc missing" >&2; return 1; }
  while read -r sw; do
    [ "$sw" = baseline ] && continue
    hole=$(awk -v s="$sw" '$1 == s { $1 = ""; print substr($0, 2) }' "$holes")
    row=$(grep -F "| \`$sw\` |" "$doc" | head -1)
    if [ -z "$row" ]; then
      echo "verify: $sw is not in $doc (re-run the matrix)" >&2; fail=1
    elif grep -qE '\| `[a-z(][^`]*` (FAIL|HANG)' <<<"$row"; then
      if [ -n "$hole" ]; then
        echo "verify: $sw is caught now: remove it from $holes" >&2; fail=1
      fi
    elif [ -n "$hole" ]; then
      echo "verify: known hole: $sw: $hole"
    else
      echo "verify: $sw is caught by no catalog check in $doc: a hole in the catalog (add the check, or list it in $holes)" >&2
      fail=1
    fi
  done < <(all_switches "$build")
  grep -q '| `baseline` | — | PASS |' "$doc" || { echo "verify: baseline does not PASS in $doc" >&2; fail=1; }
  [ $fail = 0 ] && echo "verify: every switch in $doc is caught by at least one check, or listed as a known hole"
  return $fail
}

# ------------------------------------------------------------------ run ----
run() {
  local build out doc="" clients=2 only="" tmo=420 sws=() gtmo rc rc2
  local cargs="--known-failures $here/dmfs-known-failures.txt"
  [ $# -ge 2 ] || usage
  build=$(cd "$1" && pwd) out=$2
  shift 2
  while [ $# -gt 0 ]; do
    case $1 in
      --doc) doc=$2; shift 2 ;;
      --clients) clients=$2; shift 2 ;;
      --only) only=$2; shift 2 ;;
      --run-timeout) tmo=$2; shift 2 ;;
      --conform-args) cargs=$2; shift 2 ;;
      *) usage ;;
    esac
  done
  if [ -n "$only" ]; then
    IFS=, read -r -a sws <<<"$only"
    # a name the guest does not know would run with no switch on and pass
    local known sw
    known=$(all_switches "$build")
    for sw in "${sws[@]}"; do
      grep -qxF -- "$sw" <<<"$known" || {
        echo "mutation-matrix: no switch '$sw'; the switches are:" $known >&2
        exit 2
      }
    done
  else
    mapfile -t sws < <(all_switches "$build")
  fi
  gtmo=$(( (tmo + 40) * ${#sws[@]} + 60 ))
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  "$src/ci/guest-run" --target local --clients 1 --out "$out" --timeout "$gtmo" -- \
    "$here/mutation-matrix.sh" guest "$build" "$clients" "$tmo" "$cargs" "${sws[@]}"
  rc=$?
  # The arguments every run got, for the matrix's header (known failures, a shorter model run);
  # written after guest-run, which refuses an --out it did not make.
  printf '%s\n' "${cargs//$src\//}" >"$out/conform-args"
  echo "mutation-matrix: guest-run exit $rc ($(grep -E '^wall_ms=' "$out/guest-result.txt" 2>/dev/null))"
  if [ -n "$doc" ]; then
    gen "$out" >"$doc"
    rc2=$?
    echo "mutation-matrix: wrote $doc"
    # The catalog's claims about which switch a check catches come from here, never by hand.
    if [ -f "$(dirname "$doc")/conformance.md" ]; then
      claims "$doc" "$(dirname "$doc")/conformance.md" && echo "mutation-matrix: wrote its claims into $(dirname "$doc")/conformance.md"
    fi
  else
    gen "$out"
    rc2=$?
  fi
  [ "$rc" = 0 ] || [ "$rc" = 123 ] || return 1
  return $rc2
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    run) run "$@" ;;
    gen) [ $# = 1 ] || usage; gen "$1" ;;
    verify) [ $# = 2 ] || usage; verify "$1" "$2" ;;
    claims) [ $# -ge 2 ] || usage; claims "$@" ;;
    guest) guest_main "$@" ;;
    list) [ $# = 1 ] || usage; all_switches "$1" ;;
    *) usage ;;
  esac
}
# one line: bash never reads past it, so editing this file cannot disturb
# a matrix that is running
main "$@"; exit $?
