"""A worker for the chaos test: plain, threaded or forking, and hit by injected exceptions.

usage: chaos_worker.py OPTIMIZER_ID MODE RESULTS_FILE SEED   (MODE: plain | threads | fork)

SIGUSR1 raises `Injected` wherever the main thread is (inside the library too).
Each result is appended to RESULTS_FILE as "count score" only after its end()
returned, so the file lists exactly the experiments that ended normally.
"""

import os
import random
import signal
import sys
import threading
import time

from comet_optimize import Optimizer


class Injected(Exception):
    pass


def inject(signum, frame):
    raise Injected("injected by the chaos driver")


optimizer_id, mode, results_path, seed = sys.argv[1:5]
rng = random.Random(int(seed))
signal.signal(signal.SIGUSR1, inject)
opt = Optimizer(optimizer_id, verbose=0)
results = open(results_path, "a", buffering=1)
write_lock = threading.Lock()


def loss(params):
    return round((params["x"] - 0.3) ** 2 + (params["y"] + 0.1) ** 2 + params["k"], 12)


def work() -> None:
    while True:
        try:
            experiment = opt.next()
            if experiment is None:
                return
            with experiment:
                time.sleep(rng.random() * 0.01)
                value = loss(experiment.params)
                experiment.log_metric("loss", value)
                if rng.random() < 0.05:
                    raise Injected("the script's own error")
            with write_lock:
                results.write(f"{experiment.count} {value!r}\n")
        except Injected:
            continue


if mode == "plain":
    work()
elif mode == "threads":
    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
elif mode == "fork":
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                rng.seed(os.getpid())
                work()
            except BaseException:
                code = 1
            finally:
                results.flush()
            os._exit(code)
        children.append(pid)
    work()
    for pid in children:
        os.waitpid(pid, 0)
