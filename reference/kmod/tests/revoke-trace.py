#!/usr/bin/env python3
"""Where a timed store of revocation/dirty:1 spends its time, from the
kprobe trace of revoke-trace.sh: per lock ENQUEUE of a bench rank that had
to revoke the peer's lock, the gaps between the steps, medians in µs.
usage: revoke-trace.py TRACE"""
import re, sys, statistics
EV = re.compile(r'^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
SEND_NR = {1, 20, 44, 46}      # write, writev, sendto, sendmsg
WAKE_NR = {232, 281, 7, 271}   # epoll_wait, epoll_pwait, poll, ppoll
evs = []
for line in open(sys.argv[1]):
    m = EV.match(line)
    if not m:
        continue
    comm, pid, t, name, rest = m[1], int(m[2]), float(m[3]) * 1e6, m[4], m[5]
    if name in ('sys_enter', 'sys_exit'):
        nr = re.match(r'NR (\d+)', rest)
        nr = int(nr[1]) if nr else -1  # NR -1: a syscall being restarted
        if name == 'sys_enter' and nr in SEND_NR:
            name = 'srv_send'
        elif name == 'sys_exit' and nr in WAKE_NR:
            name = 'srv_wake'
        else:
            continue
    op = re.search(r'op=(\d+)', rest)
    evs.append((t, comm, pid, name, int(op[1]) if op else None))
steps = ('fault', 'enq', 'srv_wake', 'srv_send', 'revoke_cb', 'flush',
         'wbsend_ret', 'cancel', 'srv_wake2', 'srv_send2', 'enq_ret',
         'fault_ret', 'end')
rows = []
for i, (t, comm, pid, name, _) in enumerate(evs):
    if name != 'enq' or not comm.startswith('dmmap-bench'):
        continue
    r = {'enq': t}
    # the fault it serves: the last fault entry of this task before it
    for u, c, p, n, _ in reversed(evs[max(0, i - 50):i]):
        if p == pid and n == 'fault':
            r['fault'] = u
            break
    want = ['srv_wake', 'srv_send', 'revoke_cb', 'flush', 'wbsend_ret',
            'cancel', 'srv_wake2', 'srv_send2']
    for u, c, p, n, op in evs[i + 1:]:
        if p == pid and n == 'enq_ret':
            r['enq_ret'] = u
            break
        key = 'cancel' if (n == 'send' and op == 20 and p != pid) else n
        if want and key == want[0].rstrip('2'):
            r[want.pop(0)] = u
    if want or 'enq_ret' not in r:
        continue  # no revoke in this one (the lock was free)
    # the retried fault and .page_mkwrite that end the store
    for u, c, p, n, _ in evs[i + 1:i + 400]:
        if p == pid and n == 'mkwrite_ret' and u > r['enq_ret']:
            r['end'] = u
            break
    rows.append(r)
if not rows:
    sys.exit('no enqueue that revoked')
print(f'{len(rows)} stores that revoked the peer\'s lock; median µs of each step:')
have = [s for s in steps if all(s in r for r in rows)]
for a, b in zip(have, have[1:]):
    v = [r[b] - r[a] for r in rows]
    print(f'  {a:>11} -> {b:<11} {statistics.median(v):8.1f}  (p10 {sorted(v)[len(v)//10]:.1f}, p90 {sorted(v)[len(v)*9//10]:.1f})')
v = [r[have[-1]] - r[have[0]] for r in rows]
print(f'  {have[0]:>11} -> {have[-1]:<11} {statistics.median(v):8.1f}  in all')
