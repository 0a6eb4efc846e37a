#!/usr/bin/env python3
# bench/cdc/statement_split.py LOG...: tvsync-cdc's statements in PostgreSQL logs written with
# log_min_duration_statement = 0 (bench/cdc/big_post), by kind, average and count, one column per log.
import re,sys,collections
def parse(path, after=None):
    sums=collections.defaultdict(float); n=collections.Counter()
    entries=[]
    for line in open(path, errors='replace'):
        if re.match(r'\d{4}-\d\d-\d\d ', line) or not entries: entries.append(line)
        else: entries[-1]+=line
    for line in entries:
        m=re.match(r'(\S+ \S+) UTC \[\d+\] (\S+) LOG:  duration: ([\d.]+) ms  execute [^:]*: (.*)', line, re.S)
        if not m: continue
        ts,app,d,s=m.groups()
        if app!='tvsync-cdc': continue
        if after and ts<=after: continue
        d=float(d)
        if s.startswith('WITH q AS') and 'public.tv_post AS t' in s: k='diff along comment->post'
        elif s.startswith('WITH q AS'): k='diff along comment->user'
        elif s.startswith('WITH taken') and 'tv_post' in s: k='apply post (take kept)'
        elif s.startswith('WITH taken') and 'tv_user' in s: k='apply user (take kept)'
        elif s.startswith('WITH built') and 'tv_comment' in s: k='apply comment (build)'
        elif s.startswith('WITH logged'): k='progress'
        elif 'cdc_check_visible' in s: k='visibility check'
        elif 'cdc_wait_visible' in s: k='visibility wait'
        else: k=s[:40]
        sums[k]+=d; n[k]+=1
    return sums,n
def last_ts(path):
    ts=None
    for line in open(path, errors='replace'):
        m=re.match(r'(\S+ \S+) UTC',line)
        if m: ts=m.group(1)
    return ts
rs=[parse(a) for a in sys.argv[1:]]
keys=sorted(set().union(*[set(r[0]) for r in rs]), key=lambda k:-(rs[0][0].get(k,0)/max(rs[0][1].get(k,1),1)))
print("%-28s"%"statement: avg ms (count)" + "".join("%16s"%a.split('big_post_')[-1][:-4] for a in sys.argv[1:]))
for k in keys:
    f=lambda r:"%9.2f (%3d)"%(r[0][k]/r[1][k],r[1][k]) if r[1][k] else "-"
    print("%-28s"%k.strip()[:28] + "".join("%16s"%f(r) for r in rs))
