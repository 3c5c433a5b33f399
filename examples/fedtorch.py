"""What a PyTorch holder needs to work with fed, without the safetensors
library (Debian 12 does not package it): read and write safetensors files
(writing in that library's own layout), read a fed-shard data bundle, and
the small CNN the examples train on Fashion-MNIST.  The scripts beside it
(torch-init.py, torch-holder.py, torch-eval.py) import it.
"""
import ctypes
import json
import math
import struct
import sys
import tarfile

import numpy as np
import torch

# safetensors dtype names, in the order of the safetensors library's Dtype
# enumeration: its writer lays tensors out by this rank, highest first,
# then by name.
DTYPES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
          "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]
TORCH = {"BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8,
         "I16": torch.int16, "F16": torch.float16, "BF16": torch.bfloat16,
         "I32": torch.int32, "F32": torch.float32, "F64": torch.float64,
         "I64": torch.int64}
NAMES = {v: k for k, v in TORCH.items()}
HEADER_MAX = 100000000          # the library's own limit

# Fashion-MNIST's pixel mean and deviation (of x / 255), to centre inputs.
MEAN, STD = 0.2860, 0.3530


class FormatError(Exception):
    """A file that is not what it claims to be."""


def _open(path, mode):
    if path == "-":
        return sys.stdin.buffer if "r" in mode else sys.stdout.buffer
    return open(path, mode)


def st_parse(buf, what="safetensors"):
    """(tensors, metadata) of the safetensors bytes buf: tensors a dict of
    name to CPU tensor, in file order; metadata the __metadata__ dict or
    None.  Checked as strictly as fed reads: the offsets tile the data."""
    if len(buf) < 8:
        raise FormatError(f"{what}: too short")
    n = struct.unpack("<Q", buf[:8])[0]
    if n > HEADER_MAX or 8 + n > len(buf):
        raise FormatError(f"{what}: header size {n} out of bounds")
    try:
        head = json.loads(buf[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError(f"{what}: header: {e}") from None
    try:
        meta = head.pop("__metadata__", None)
        items = sorted(head.items(), key=lambda kv: list(kv[1]["data_offsets"]))
        return _tensors(items, meta, memoryview(buf)[8 + n:], what)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise FormatError(f"{what}: header: {e!r}") from None


def _tensors(items, meta, data, what):
    end, out = 0, {}
    for name, t in items:
        a, b = t["data_offsets"]
        dt = TORCH.get(t["dtype"])
        count = int(np.prod(t["shape"], dtype=np.int64))
        if dt is None:
            raise FormatError(f"{what}: {name}: dtype {t['dtype']} not supported")
        if a != end or b - a != count * torch.empty(0, dtype=dt).element_size():
            raise FormatError(f"{what}: {name}: offsets do not tile the data")
        end = b
        x = torch.frombuffer(bytearray(data[a:b]), dtype=dt) if count else \
            torch.empty(0, dtype=dt)
        out[name] = x.reshape(t["shape"])
    if end != len(data):
        raise FormatError(f"{what}: {len(data) - end} bytes after the last tensor")
    return out, meta


def st_read(path):
    """st_parse of the file path ('-' is standard input)."""
    with _open(path, "rb") as f:
        return st_parse(f.read(), path)


def st_bytes(tensors, metadata=None):
    """The safetensors encoding of tensors (a dict of name to tensor), laid
    out as the safetensors library writes it: sorted by dtype, the widest
    first, then by name; the header compact JSON, __metadata__ first,
    padded with spaces to a multiple of 8 bytes."""
    order = sorted(tensors, key=lambda k: (-DTYPES.index(NAMES[tensors[k].dtype]),
                                           k.encode("utf-8")))
    head, blobs, off = {}, [], 0
    if metadata is not None:
        head["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    for name in order:
        t = tensors[name].detach().contiguous().cpu()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        head[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                      "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def st_write(path, tensors, metadata=None):
    """Write st_bytes to path ('-' is standard output)."""
    with _open(path, "wb") as f:
        f.write(st_bytes(tensors, metadata))
        f.flush()


def data_bundle(path):
    """(x, y, manifest) of a fed-shard data bundle: x float32 images scaled
    and centred, shaped N x 1 x 28 x 28; y int64 labels.  The bundle's
    integrity is fed-verify's business; this reads what it was given."""
    try:
        with tarfile.open(path, "r:") as tar:
            man = json.load(tar.extractfile("manifest.json"))
            t, _ = st_parse(tar.extractfile("data.safetensors").read(), path)
    except (tarfile.TarError, KeyError, ValueError) as e:
        raise FormatError(f"{path}: not a data bundle: {e}") from None
    x = t["x"].to(torch.float32) * float(man.get("x_scale", 1.0))
    side = int(round(x.shape[1] ** 0.5))
    x = ((x - MEAN) / STD).reshape(-1, 1, side, side)
    return x, t["y"].to(torch.int64), man


class CNN(torch.nn.Module):
    """Two 5x5 convolutions with max pooling, then one linear layer:
    conv1 1->C1, conv2 C1->C2, fc (C2*7*7)->10."""

    def __init__(self, c1=16, c2=32, classes=10):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, c1, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(c1, c2, 5, padding=2)
        self.fc = torch.nn.Linear(c2 * 49, classes)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def cnn_from(tensors):
    """The CNN whose weights are tensors, its widths read off their shapes.
    Its convolutions' weights are held channels last, the layout oneDNN's
    kernels work in: an epoch takes a quarter less time, and the weights
    written out (st_bytes makes them contiguous) are laid out as ever."""
    try:
        m = CNN(tensors["conv1.weight"].shape[0], tensors["conv2.weight"].shape[0],
                tensors["fc.weight"].shape[0])
        m.load_state_dict(tensors, strict=True)
    except (KeyError, RuntimeError) as e:
        raise FormatError(f"not the example CNN: {e}".splitlines()[0]) from None
    return m.to(memory_format=torch.channels_last)


def setup(threads):
    """One reproducible process: threads fixed, deterministic kernels, and
    freed memory kept for the next batch (keep_memory)."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    keep_memory()


def keep_memory():
    """Have glibc keep the memory PyTorch frees rather than hand it back to
    the kernel.  PyTorch allocates a batch's activations with malloc, and by
    default glibc returns freed blocks at the top of its heap, or any over
    its mmap threshold, to the kernel, so the next batch faults them in
    again, page by page: an epoch of Fashion-MNIST took 1.7 million page
    faults and 2.4 times the time (33 s against 14 s on one core).  Blocks
    up to 32 MiB come from the heap, which is trimmed only past 1 GiB free.
    Elsewhere than glibc this does nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(-3, 32 << 20)       # M_MMAP_THRESHOLD
    mallopt(-1, 1 << 30)        # M_TRIM_THRESHOLD


def cosine(lr, epoch, total):
    """The learning rate of epoch (from 0) of total under cosine decay to
    zero, one value per epoch; lr itself when total is 0 (no decay)."""
    if total <= 0:
        return lr
    return lr * 0.5 * (1 + math.cos(math.pi * min(epoch, total) / total))


def log_prior(y, classes):
    """The logarithm of the label frequencies in y, each count plus one."""
    counts = torch.bincount(y, minlength=classes).to(torch.float32)
    return torch.log((counts + 1) / (len(y) + classes))


def train(model, x, y, epochs, batch, lr, momentum, seed, first=0, total=0,
          adjust=False):
    """SGD with momentum over shuffled minibatches, for epochs first to
    first + epochs - 1 of a cosine schedule over total (see cosine); the
    mean loss of the last epoch.  With adjust, the loss is taken on the
    logits plus the log of the data's label frequencies (logit
    adjustment, Menon et al. 2021; FedLC, Zhang et al. 2022): a holder
    whose shard is skewed towards a few labels then learns what tells
    the classes apart rather than its own label frequencies, which the
    other holders do not share.  On balanced data it changes nothing."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    model.train()
    shift = log_prior(y, model.fc.out_features) if adjust else 0
    loss_sum, seen = 0.0, 0
    for e in range(epochs):
        for group in opt.param_groups:
            group["lr"] = cosine(lr, first + e, total)
        loss_sum, seen = 0.0, 0
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x[idx]) + shift, y[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
    return loss_sum / max(seen, 1)


@torch.no_grad()
def evaluate(model, x, y, batch=200):
    """(accuracy, mean cross-entropy) of model on x, y, in batches whose
    activations stay under keep_memory's 32 MiB."""
    model.eval()
    right, loss = 0, 0.0
    for i in range(0, len(y), batch):
        out = model(x[i:i + batch])
        loss += torch.nn.functional.cross_entropy(out, y[i:i + batch],
                                                  reduction="sum").item()
        right += (out.argmax(1) == y[i:i + batch]).sum().item()
    return right / len(y), loss / len(y)


def die(prog, msg, status=1):
    """One line on standard error, program name first, and exit."""
    print(f"{prog}: {msg}", file=sys.stderr)
    sys.exit(status)


def run(prog, fn, *args):
    """fn(*args); a bad file exits 1, a missing or unreadable one 2."""
    try:
        return fn(*args)
    except FormatError as e:
        die(prog, str(e))
    except (OSError, KeyError, ValueError) as e:
        die(prog, str(e), 2)


def no_terminal(p, a):
    """A usage error when the weights would go to a terminal."""
    if a.output == "-" and sys.stdout.isatty():
        p.error("will not write weights to a terminal; use -o")


