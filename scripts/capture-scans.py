#!/usr/bin/env python3
"""Cuts a MONITOR log of one resident's four scans (in, out, in, out) into the Redis commands
of each scan, for `checkin redis-replay` (used by scripts/bench-scale and
scripts/redis-instructions).

Usage: capture-scans.py MONITOR_LOG OUT_DIR. Writes OUT_DIR/SCAN-INDEX, each one command as
Redis's protocol sends it (RESP), and prints the captured resident id. Only the connections
of the capture service (those naming keys under the `capture:` prefix) count; exits with an
error unless it finds four scans, each with one commit script.
"""
import os, re, sys
src, out = sys.argv[1], sys.argv[2]
# `1700000000.123456 [0 127.0.0.1:5000] "GET" "k"`; commands a script runs show as
# `[0 lua]` and are part of its EVALSHA, not round trips of their own.
line_re = re.compile(r'^(\d+\.\d+) \[\d+ (?!lua\])([^\]]*)\] (.*)$')
tok_re = re.compile(r'"((?:[^"\\]|\\.)*)"')
def unescape(s):
    b, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s):
            n = s[i + 1]
            if n == 'x':
                b.append(int(s[i + 2:i + 4], 16)); i += 4; continue
            b.extend({'n': b'\n', 'r': b'\r', 't': b'\t', 'a': b'\a', 'b': b'\b'}.get(n, n.encode()))
            i += 2; continue
        b.extend(c.encode()); i += 1
    return bytes(b)
seen = []
for raw in open(src, encoding='utf-8', errors='surrogateescape'):
    m = line_re.match(raw.rstrip('\n'))
    if m:
        seen.append((float(m.group(1)), m.group(2), [unescape(t) for t in tok_re.findall(m.group(3))]))
# Only the capture service's connections (those that name its keys), and not its repair
# loop's poll (every 5 s), which is not part of a scan.
ours = {who for _, who, args in seen if any(a.startswith(b'capture:') for a in args)}
cmds = [(t, args) for t, who, args in seen
        if who in ours and not any(b'{repair}' in a for a in args)]
# A script's first call answers NOSCRIPT and the service loads it and calls again: the load
# and the failed call are not part of the scan.
cmds = [c for i, c in enumerate(cmds) if c[1][0].upper() != b'SCRIPT'
        and not (i + 1 < len(cmds) and cmds[i + 1][1][0].upper() == b'SCRIPT')]
# A scan starts by reading the person's state.
starts = [i for i, (_, a) in enumerate(cmds) if a[0].upper() == b'HMGET' and a[1].endswith(b':state')]
scans = [cmds[i:j] for i, j in zip(starts, starts[1:] + [len(cmds)])]
if len(scans) != 4 or not all(sum(a[0].upper() == b'EVALSHA' for _, a in c) == 1 for c in scans):
    sys.exit(f"capture-scans: MONITOR saw {len(scans)} scans, expected 4, each with one commit")
ids = {m.group(1) for _, args in scans[0] for a in args for m in re.finditer(rb'\{p:(U[0-9a-f]{12})\}', a)}
if len(ids) != 1:
    sys.exit(f"capture-scans: the captured scans name {len(ids)} residents, expected 1")
os.makedirs(out)
for s, burst in enumerate(scans):
    for n, (_, args) in enumerate(burst):
        # As Redis's protocol sends it (RESP): arguments may hold any byte.
        with open(f'{out}/{s}-{n:03d}', 'wb') as f:
            f.write(b'*%d\r\n' % len(args) + b''.join(b'$%d\r\n%s\r\n' % (len(a), a) for a in args))
print(ids.pop().decode())
