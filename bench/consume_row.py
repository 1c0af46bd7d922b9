"""Consume row only: each client reads the same topic (N x 100 B) with its own group, REPS
times, alternating; medians. Usage: python3 bench/consume_row.py CLASSPATH [REPS]. An older kafkit
build of the bench (KAFKIT_BENCH_OLD) runs beside the current one."""
import os, subprocess, re, sys, statistics
CP=sys.argv[1]; BOOT=os.environ.get("KAFKIT_BOOTSTRAP", "127.0.0.1:9092"); T=os.environ.get("TOPIC", "bench-c-prof"); N=1000000
B="bench/target/release/kafkit-bench"
clients=[("kafkit (this change)",[B,"kafkit","consume",BOOT,T,str(N),"100","none"]),
 ("kafkit, older build (KAFKIT_BENCH_OLD)",[os.environ.get("KAFKIT_BENCH_OLD", "bench/target/release/kafkit-bench-old"),"kafkit","consume",BOOT,T,str(N),"100","none"]),
 ("rdkafka (librdkafka)",[B,"rdkafka","consume",BOOT,T,str(N),"100","none"]),
 ("krafka",[B,"krafka","consume",BOOT,T,str(N),"100","none"]),
 ("confluent-kafka",[B,"confluent","consume",BOOT,T,str(N),"100","none"]),
 ("Java kafka-clients 4.4",["java","-cp",CP,"JavaPeer","consume-bench",BOOT,T,str(N)])]
res={n:[] for n,_ in clients}
for rep in range(int(sys.argv[2]) if len(sys.argv)>2 else 3):
  for name,cmd in clients:
    p=subprocess.run(["/usr/bin/time","-f","TIME %U %S %M"]+cmd,capture_output=True,text=True,timeout=600)
    out=p.stdout+p.stderr
    t=re.search(r"TIME ([\d.]+) ([\d.]+) (\d+)",out); r=re.search(r"RESULT (\d+) ([\d.]+)",out) or re.search(r"^(\d+) ([\d.]+) 0$",out,re.M)
    if not t or not r: print("fail",name,out[-300:]); continue
    n=int(r.group(1)); secs=float(r.group(2)); cpu=float(t.group(1))+float(t.group(2)); rss=int(t.group(3))/1024
    res[name].append((n/secs,cpu/n*1e6,rss)); print(name, round(n/secs), round(cpu/n*1e6,3), round(rss), flush=True)
print("| client | records/s (median) | CPU s per 1M records (median) | peak RSS MB |")
print("|---|---|---|---|")
for name,_ in clients:
  v=res[name]
  if v: print(f"| {name} | {statistics.median(x[0] for x in v):,.0f} | {statistics.median(x[1] for x in v):.2f} | {statistics.median(x[2] for x in v):,.0f} |")
