#!/usr/bin/env python3
"""Paced feed of keyed JSON updates for `cg-kafka-mock produce` (bench/run.sh, kafka scenario).

usage: kafka_feed.py --topic T --items 40 --rate 100 --seconds S
Writes one JSON line per message to stdout:
  {"topic":T,"key":"ITEM07","value":{"t":<CLOCK_REALTIME us>,"price":..,"seq":n}}
The "t" field is the send timestamp cg-load reads (--ts-field fields.t --ts-unit us).
"""
import argparse, json, random, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--topic", default="bench-items")
ap.add_argument("--items", type=int, default=40)
ap.add_argument("--rate", type=float, default=100.0)
ap.add_argument("--seconds", type=float, default=30.0)
a = ap.parse_args()

keys = ["ITEM%02d" % i for i in range(a.items)]
price = {k: 100.0 + i for i, k in enumerate(keys)}
start = time.monotonic()
n = 0
try:
    while True:
        due = start + n / a.rate
        now = time.monotonic()
        if due - start >= a.seconds:
            break
        if due > now:
            time.sleep(due - now)
        k = keys[n % a.items]
        price[k] = round(price[k] * (1 + random.uniform(-0.001, 0.001)), 4)
        msg = {"topic": a.topic, "key": k,
               "value": {"t": time.time_ns() // 1000, "price": price[k], "seq": n, "p": "x" * 40}}
        sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        n += 1
except (BrokenPipeError, KeyboardInterrupt):
    pass
