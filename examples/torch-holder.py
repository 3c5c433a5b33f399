#!/usr/bin/python3
"""A data holder's trainer in PyTorch: read the global model's weights (a
safetensors file, as `fed-verify --weights` writes it), train the example
CNN on the holder's own shard (a fed-shard data bundle), and write the
trained weights as safetensors, for fed-delta to turn into an update.

usage: torch-holder.py -m WEIGHTS -d SHARD [-e EPOCHS] [-b BATCH] [-l LR]
                       [--momentum M] [--cosine TOTAL [--first-epoch K]]
                       [--logit-adjust] [-s SEED] [-t THREADS] [-j META]
                       [-o OUT]

WEIGHTS and OUT may be '-' (standard input and output; OUT is standard
output by default).  With --cosine, the learning rate decays from LR to
zero over TOTAL epochs along a cosine, one value per epoch, and this run
trains epochs K to K + EPOCHS - 1 of that schedule: a federation's round
R of E local epochs passes --first-epoch R*E.  --logit-adjust trains
on the logits plus the log of the shard's label frequencies, for shards
skewed towards a few labels (see fedtorch.train).  META, when given,
receives the trainer's own account of the run as JSON (for fed-delta
--meta): the samples, the options, the last epoch's mean loss and the
torch version.  The same inputs, seed and thread count give the same bytes.
Exit status: 0 done, 1 an input was rejected, 2 usage error.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedtorch as ft  # noqa: E402

PROG = "torch-holder.py"


def args():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("-m", "--model", required=True, help="global weights (safetensors)")
    p.add_argument("-d", "--data", required=True, help="the holder's data bundle")
    p.add_argument("-e", "--epochs", type=int, default=1)
    p.add_argument("-b", "--batch", type=int, default=64)
    p.add_argument("-l", "--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--cosine", type=int, default=0, metavar="TOTAL",
                   help="decay the learning rate to 0 over TOTAL epochs")
    p.add_argument("--first-epoch", type=int, default=0, metavar="K",
                   help="the first epoch's place in the --cosine schedule")
    p.add_argument("--logit-adjust", action="store_true",
                   help="add the log of the shard's label frequencies to the logits")
    p.add_argument("-s", "--seed", type=int, default=1)
    p.add_argument("-t", "--threads", type=int, default=1)
    p.add_argument("-j", "--meta", help="write the run's description (JSON) here")
    p.add_argument("-o", "--output", default="-")
    a = p.parse_args()
    if a.epochs < 1 or a.batch < 1 or a.lr <= 0 or a.threads < 1 \
            or not 0 <= a.momentum < 1 or a.cosine < 0 or a.first_epoch < 0:
        p.error("epochs, batch and threads must be positive, lr > 0, "
                "0 <= momentum < 1, --cosine and --first-epoch not negative")
    ft.no_terminal(p, a)
    return a


def load(a):
    """The model to train, its metadata, and the shard."""
    weights, meta = ft.st_read(a.model)
    x, y, _ = ft.data_bundle(a.data)
    return ft.cnn_from(weights), meta, x, y


def main():
    a = args()
    ft.setup(a.threads)
    model, meta, x, y = ft.run(PROG, load, a)
    loss = ft.train(model, x, y, a.epochs, a.batch, a.lr, a.momentum, a.seed,
                    a.first_epoch, a.cosine, a.logit_adjust)
    ft.st_write(a.output, model.state_dict(), meta)
    if a.meta:
        with open(a.meta, "w") as f:
            json.dump({"trainer": "examples/torch-holder.py",
                       "torch": ft.torch.__version__, "samples": len(y),
                       "epochs": a.epochs, "batch": a.batch, "lr": a.lr,
                       "momentum": a.momentum, "seed": a.seed,
                       "cosine": a.cosine, "first_epoch": a.first_epoch,
                       "logit_adjust": a.logit_adjust,
                       "threads": a.threads, "loss": round(loss, 6)},
                      f, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
