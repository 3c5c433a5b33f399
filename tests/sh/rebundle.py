"""rebundle: read a bundle's manifest and members, and write them back as
a bundle whose manifest lists each member's size and SHA-256 afresh, for
tests that make hostile variants of valid bundles; and read a
safetensors member's tensors as flat lists, for tests that decode an
encoding themselves (import it with tests/sh on sys.path)."""
import array, hashlib, io, json, struct, tarfile


def header(b):
    """A safetensors file's header and where its data section starts."""
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), 8 + n


def st(b):
    """A safetensors file's bytes: {name: array} in data order."""
    h, n = header(b)
    d = b[n:]
    out = {}
    for k, v in sorted(((k, v) for k, v in h.items() if k != "__metadata__"),
                       key=lambda kv: kv[1]["data_offsets"][0]):
        a, z = v["data_offsets"]
        out[k] = array.array({"F32": "f", "U8": "B", "I8": "b",
                              "I32": "i"}[v["dtype"]], d[a:z])
    return out


def member(path, name="tensors.safetensors"):
    return st(tarfile.open(path).extractfile(name).read())


def flat(t):
    x = []
    for v in t.values():
        x.extend(v)
    return x


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def read(path):
    t = tarfile.open(path)
    mem = {m.name: t.extractfile(m).read() for m in t.getmembers()}
    return json.loads(mem["manifest.json"]), mem


def write(path, man, mem):
    names = [m["name"] for m in man["members"]]
    man["members"] = [{"name": k, "size": len(mem[k]),
                       "sha256": hashlib.sha256(mem[k]).hexdigest()}
                      for k in names]
    mb = (json.dumps(man, indent=2, sort_keys=True) + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w",
                      format=tarfile.USTAR_FORMAT) as o:
        for k, data in [("manifest.json", mb)] + [(k, mem[k]) for k in names]:
            ti = tarfile.TarInfo(k)
            ti.size = len(data)
            ti.mode = 0o644
            o.addfile(ti, io.BytesIO(data))
    open(path, "wb").write(buf.getvalue())
