#!/usr/bin/env python3
"""Generates N random conformance scripts (JSON lines) for speed, determinism and robustness runs.

    python3 conformance/tools/gen_random.py N SEED > batch.jsonl
"""
import json
import random
import sys

REASONS = ["CHECKPOINT_DECLINED", "CHECKPOINT_ASYNC_EXCEPTION", "CHECKPOINT_DECLINED_TASK_NOT_READY",
           "CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER", "IO_EXCEPTION", "TASK_CHECKPOINT_FAILURE",
           "CHECKPOINT_DECLINED_SUBSUMED", "CHECKPOINT_EXPIRED"]


def script(r):
    nv = r.randint(1, 4)
    vertices = [{"name": "v%d" % i, "parallelism": r.randint(1, 3)} for i in range(nv)]
    edges = []
    for i in range(1, nv):
        src = r.randint(0, i - 1)
        pat = "pointwise" if vertices[src]["parallelism"] == vertices[i]["parallelism"] and r.random() < 0.5 else "all_to_all"
        edges.append({"from": "v%d" % src, "to": "v%d" % i, "pattern": pat})
    ntasks = sum(v["parallelism"] for v in vertices)
    unaligned = r.random() < 0.2
    cp = {"interval": r.choice([None, 10, 50, 100]), "timeout": r.choice([20, 100, 1000]),
          "min_pause": r.choice([0, 0, 10, 30]), "max_concurrent": 1 if unaligned else r.randint(1, 3),
          "tolerable_failures": r.choice([-1, 0, 1, 2]), "unaligned": unaligned,
          "retained": r.randint(1, 3)}
    setup = {"vertices": vertices, "edges": edges, "checkpointing": cp,
             "auto_drain": r.random() < 0.8, "failover": r.choice(["region", "full"]),
             "fail_job": r.choice(["record", "failover"])}
    lines = [{"setup": setup}]
    t = 0
    nid = 1
    for k in range(r.randint(5, 30)):
        if r.random() < 0.3:
            t += r.randint(0, 40)
        x = r.random()
        task = r.randrange(ntasks)
        cid = r.randint(1, nid)
        if x < 0.12:
            op = {"op": "periodic"}
            nid += 1
        elif x < 0.22:
            op = {"op": "request", "kind": r.choice(["checkpoint", "checkpoint", "savepoint", "stop_with_savepoint"]),
                  "handle": "h%d" % k}
            nid += 1
        elif x < 0.55:
            op = {"op": "ack", "task": task, "id": cid}
            if r.random() < 0.3:
                op["state"] = True
        elif x < 0.62:
            op = {"op": "decline", "task": task, "id": cid, "reason": r.choice(REASONS)}
        elif x < 0.67:
            op = {"op": "timeout", "id": cid}
        elif x < 0.72:
            op = {"op": "fire_due"}
        elif x < 0.77:
            op = {"op": "hop"}
        elif x < 0.80:
            op = {"op": "drain"}
        elif x < 0.84:
            op = {"op": "task_failed", "task": task}
        elif x < 0.86:
            op = {"op": "finished", "task": task}
        elif x < 0.89:
            op = {"op": "end_of_data", "task": task}
        elif x < 0.91:
            op = {"op": "jm_failover"}
        elif x < 0.93:
            op = {"op": "global_failure"}
        elif x < 0.95:
            op = {"op": "storage_fault", "stage": r.choice(["location", "metadata", "store"])}
        elif x < 0.97:
            op = {"op": "rpc_fault", "task": task}
        else:
            op = {"op": "restore"}
        op["at"] = t
        lines.append(op)
    lines.append({"op": "end"})
    return lines


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    r = random.Random(seed)
    out = sys.stdout
    for _ in range(n):
        for line in script(r):
            out.write(json.dumps(line, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
