#!/usr/bin/python3
"""The example CNN's initial weights, seeded, as a safetensors file laid
out as the safetensors library writes it: the file a coordinator imports
with `fed-init --from`.

usage: torch-init.py [-s SEED] [--widths C1-C2] [-o OUT]

The same seed and widths give the same bytes.  OUT is standard output by
default.  Exit status: 0 done, 2 usage error.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedtorch as ft  # noqa: E402


def main():
    p = argparse.ArgumentParser(prog="torch-init.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("-s", "--seed", type=int, default=1)
    p.add_argument("--widths", default="16-32",
                   help="channels of the two convolutions (default 16-32)")
    p.add_argument("-o", "--output", default="-")
    a = p.parse_args()
    try:
        c1, c2 = (int(w) for w in a.widths.split("-"))
        assert c1 > 0 and c2 > 0
    except (ValueError, AssertionError):
        p.error(f"--widths {a.widths}: want C1-C2, two positive integers")
    ft.no_terminal(p, a)
    ft.setup(1)
    ft.torch.manual_seed(a.seed)
    model = ft.CNN(c1, c2)
    ft.st_write(a.output, model.state_dict(),
                {"model": f"examples/fedtorch.py CNN {c1}-{c2}", "seed": str(a.seed)})


if __name__ == "__main__":
    main()
