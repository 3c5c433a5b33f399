#!/usr/bin/python3
"""Test accuracy and loss of the example CNN's weights, in PyTorch.

usage: torch-eval.py -d DATA [-t THREADS] WEIGHTS...

DATA is a fed-shard data bundle (the public test set); each WEIGHTS a
safetensors file ('-' is standard input), as `fed-verify --weights`
writes it.  Prints one JSON object a line per WEIGHTS: its "accuracy",
mean cross-entropy "loss" and the "samples" counted.
Exit status: 0 done, 1 an input was rejected, 2 usage error.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedtorch as ft  # noqa: E402

PROG = "torch-eval.py"


def main():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("-d", "--data", required=True)
    p.add_argument("-t", "--threads", type=int, default=1)
    p.add_argument("weights", nargs="+")
    a = p.parse_args()
    ft.setup(max(a.threads, 1))
    ft.run(PROG, evaluate, a)


def evaluate(a):
    x, y, _ = ft.data_bundle(a.data)
    for w in a.weights:
        acc, loss = ft.evaluate(ft.cnn_from(ft.st_read(w)[0]), x, y)
        print(json.dumps({"accuracy": round(acc, 6), "loss": round(loss, 6),
                          "samples": len(y)}), flush=True)


if __name__ == "__main__":
    main()
