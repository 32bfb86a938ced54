"""numpy.percentile vectors for PerfMonitor (Debian python3-numpy).

Run: /usr/bin/python3 testdata/gen_perf.py > testdata/perf.json
"""
import json
import random
import sys

import numpy as np

rng = random.Random(3)
cases = []
for _ in range(200):
    samples = [rng.randint(1, 10**11) for _ in range(rng.randint(1, 12))]
    q = rng.choice([0, 10, 50, 90, 99, 100, rng.uniform(0, 100)])
    cases.append({"samples_ns": samples, "q": q, "seconds": repr(float(np.percentile(samples, q)) / 1e9)})
json.dump({"numpy": np.__version__, "cases": cases}, sys.stdout)
