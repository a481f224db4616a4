#!/usr/bin/env python3
# CPU seconds spent by each side of a benchmark run, steadier than wall time on a shared machine.
# Runs `bulkwrite bench ARGS` (the release binary, or $BW), samples utime+stime of the bench's
# server process and of every postgres process every 20 ms, and prints the bench's figures and the
# CPU each side used over the whole run (server start, uploads and, on PostgreSQL, creating and
# dropping the scratch database included).
#
#   cargo build --release -p bulkwrite-cli --features bench
#   scripts/bench-cpu.py --runs 3 --upsert false --database-url 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
import subprocess, sys, os, time, glob
args = sys.argv[1:]
hz = os.sysconf('SC_CLK_TCK')
def stat(pid):
    """(command name, CPU seconds, command line) of a process, or None once it is gone."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            text = f.read()
        with open(f'/proc/{pid}/cmdline') as f:
            cmdline = f.read().replace('\0', ' ')
    except OSError:
        return None
    comm = text[text.index('(') + 1:text.rindex(')')]
    rest = text[text.rindex(')') + 2:].split()
    return comm, (int(rest[11]) + int(rest[12])) / hz, cmdline
binary = os.path.realpath(os.environ.get('BW', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'target', 'release', 'bulkwrite')))
base = {}
for p in glob.glob('/proc/[0-9]*'):
    pid = int(p[6:]); st = stat(pid)
    if st and st[0] == 'postgres': base[pid] = st[1]
bench = subprocess.Popen([binary, 'bench'] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
seen = {}
while bench.poll() is None:
    for p in glob.glob('/proc/[0-9]*'):
        pid = int(p[6:])
        st = stat(pid)
        if not st: continue
        if st[0] == 'postgres': seen[('pg', pid)] = st[1] - base.get(pid, 0)
        elif st[2].startswith(binary + ' serve'): seen[('srv', pid)] = st[1]
    time.sleep(0.02)
out = bench.stdout.read()
for l in out.splitlines():
    if 'rows  total' in l or 'RSS' in l: print(l.strip())
print('server CPU %.2f s, postgres CPU %.2f s' % (sum(v for (k, _), v in seen.items() if k == 'srv'), sum(v for (k, _), v in seen.items() if k == 'pg')))
