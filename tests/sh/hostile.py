#!/usr/bin/env python3
"""Build a corpus of hostile bundles from a valid one.

usage: hostile.py VALID.fed OTHER.fed OUTDIR [UPDATE DATA TEXT MOMENTS]

VALID.fed is a model bundle signed by key A; OTHER.fed a different model
bundle signed by A as well.  Every file written to OUTDIR must be rejected
by fed-verify -p A.pub with exit status 1.  Each case is built by hand
here, not by fed, so that the reader is tested against bytes fed would
never write.

With the four more operands (an update, a data set, a text data set, an
update carrying moments, signed or not), cases for those kinds are
written too: manifests that break the schema, payloads in the wrong
kind, tensors that do not match the counts.  Signatures are checked
last, so each of them fails for its own reason first.
"""
import hashlib, io, json, os, struct, sys, tarfile

valid, other, out = sys.argv[1:4]
kinds = sys.argv[4:8]


def members(path):
    with tarfile.open(path, "r:") as t:
        return [(m.name, t.extractfile(m).read()) for m in t.getmembers()]


def tar(entries, fmt=tarfile.USTAR_FORMAT):
    """entries: (name, data) or (name, data, tarinfo-type[, linkname])."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e[0])
            ti.mtime = 0
            ti.mode = 0o644
            data = e[1]
            if len(e) > 2:
                ti.type = e[2]
                if len(e) > 3:
                    ti.linkname = e[3]
                if e[2] in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                    ti.devmajor, ti.devminor = 1, 3
            if ti.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def manifest_for(man, payloads):
    m = dict(man)
    m["members"] = [{"name": n, "size": len(d),
                     "sha256": hashlib.sha256(d).hexdigest()}
                    for n, d in payloads]
    return (json.dumps(m, indent=2, sort_keys=True) + "\n").encode()


def st_bytes(tensors):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    hdr, off = {}, 0
    for n, dt, shape, raw in tensors:
        hdr[n] = {"dtype": dt, "shape": shape,
                  "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(t[3] for t in tensors)


def st_tensors(raw):
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    base = 8 + n
    return [(k, v["dtype"], v["shape"],
             raw[base + v["data_offsets"][0]:base + v["data_offsets"][1]])
            for k, v in hdr.items() if k != "__metadata__"]


V = members(valid)
O = members(other)
man_raw = V[0][1]
man = json.loads(man_raw)
st = V[1][1]
sig = V[2]
osig = O[2]
cases = {}


def rebuilt(payloads, extra=(), sigs=()):
    return tar([("manifest.json", manifest_for(man, payloads))]
               + list(payloads) + list(extra) + list(sigs))


good = tar([V[0], V[1], sig])
cases["traversal"] = tar([V[0], ("../tensors.safetensors", st), sig])
cases["absolute"] = tar([V[0], ("/tensors.safetensors", st), sig])
cases["symlink"] = tar([V[0], ("tensors.safetensors", b"", tarfile.SYMTYPE,
                               "/etc/passwd"), sig])
cases["hardlink"] = tar([V[0], ("tensors.safetensors", b"", tarfile.LNKTYPE,
                                "manifest.json"), sig])
cases["device"] = tar([V[0], ("tensors.safetensors", b"", tarfile.CHRTYPE),
                       sig])
cases["fifo"] = tar([V[0], ("tensors.safetensors", b"", tarfile.FIFOTYPE), sig])
cases["directory"] = tar([V[0], ("tensors.safetensors", b"", tarfile.DIRTYPE),
                          sig])
cases["duplicate-member"] = tar([V[0], V[1], V[1], sig])
cases["duplicate-manifest"] = tar([V[0], V[0], V[1], sig])
cases["unlisted-member"] = tar([V[0], V[1], ("state.safetensors", st), sig])
cases["unknown-name"] = tar([V[0], V[1], ("notes.txt", b"hi"), sig])
cases["missing-member"] = tar([V[0], sig])
cases["manifest-not-first"] = tar([V[1], V[0], sig])
cases["no-manifest"] = tar([V[1]])
cases["empty-archive"] = b"\0" * 1024
cases["empty-file"] = b""
cases["garbage"] = bytes(range(256)) * 40
cases["truncated-header"] = good[:100]
cases["truncated-manifest"] = good[:700]
cases["truncated-payload"] = good[:512 * (2 + (len(man_raw) + 511) // 512) + 100]
body = good.rstrip(b"\0")
body += b"\0" * (-len(body) % 512)
cases["no-end-marker"] = body
cases["half-end-marker"] = body + b"\0" * 512
cases["trailing-data"] = good + b"extra bytes after the archive"
cases["trailing-zero-blocks-then-data"] = good + b"\0" * 1024 + b"x" + b"\0" * 511
cases["hash-mismatch"] = tar([V[0], ("tensors.safetensors",
                                      st[:-1] + bytes([st[-1] ^ 1])), sig])
cases["size-mismatch"] = tar([V[0], ("tensors.safetensors", st + b"\0" * 4),
                              sig])
cases["bad-json"] = tar([("manifest.json", b"{\"format\": "), V[1]])
cases["json-array"] = tar([("manifest.json", b"[1,2,3]"), V[1]])
cases["deep-json"] = tar([("manifest.json", b"[" * 5000 + b"]" * 5000), V[1]])
cases["duplicate-key"] = tar([("manifest.json",
                               man_raw.replace(b'"kind": "model"',
                                               b'"kind": "model", "kind": "data"')),
                              V[1]])
cases["wrong-format"] = tar([("manifest.json",
                              man_raw.replace(b"fed-bundle/1", b"fed-bundle/9")),
                             V[1]])
cases["huge-manifest"] = tar([("manifest.json", b" " * (2 << 20)), V[1]])

T = st_tensors(st)
w0 = T[0]
nan = struct.pack("<f", float("nan"))
inf = struct.pack("<f", float("inf"))
cases["nan-weight"] = rebuilt([("tensors.safetensors", st_bytes(
    [(w0[0], w0[1], w0[2], nan + w0[3][4:])] + T[1:]))])
cases["inf-weight"] = rebuilt([("tensors.safetensors", st_bytes(
    T[:-1] + [(T[-1][0], T[-1][1], T[-1][2], T[-1][3][:-4] + inf)]))])
cases["wrong-shape"] = rebuilt([("tensors.safetensors", st_bytes(
    [(w0[0], w0[1], list(reversed(w0[2])), w0[3])] + T[1:]))])
cases["missing-tensor"] = rebuilt([("tensors.safetensors", st_bytes(T[1:]))])
cases["extra-tensor"] = rebuilt([("tensors.safetensors", st_bytes(
    T + [("extra", "F32", [1], b"\0\0\0\0")]))])
cases["wrong-dtype"] = rebuilt([("tensors.safetensors", st_bytes(
    [(w0[0], "I32", w0[2], w0[3])] + T[1:]))])
cases["st-header-huge"] = rebuilt([("tensors.safetensors",
                                    struct.pack("<Q", 1 << 40) + b"{}")])
cases["st-offsets-gap"] = rebuilt([("tensors.safetensors",
    st_bytes(T)[:8] + st_bytes(T)[8:].replace(b"[0,", b"[4,", 1))])
cases["st-truncated-data"] = rebuilt([("tensors.safetensors", st[:-4])])
cases["data-in-model"] = rebuilt([("data.safetensors", st)])

cases["sig-wrong-size"] = tar([V[0], V[1], (sig[0], sig[1] + b"\0")])
cases["sig-bad-name"] = tar([V[0], V[1], ("signatures/XYZ.sig", sig[1])])
cases["sig-other-manifest"] = tar([V[0], V[1], (sig[0], osig[1])])
cases["sig-flipped"] = tar([V[0], V[1], (sig[0], bytes([sig[1][0] ^ 1]) + sig[1][1:])])
cases["sig-duplicate"] = tar([V[0], V[1], sig, sig])
cases["unsigned"] = tar([V[0], V[1]])

# A GNU sparse entry: same bytes as a regular member but typeflag 'S'.
sp = bytearray(good)
hdr_off = 512 + 512 * ((len(man_raw) + 511) // 512)
sp[hdr_off + 156] = ord("S")
sp[hdr_off + 148:hdr_off + 156] = b"        "
chk = sum(sp[hdr_off:hdr_off + 512])
sp[hdr_off + 148:hdr_off + 156] = b"%06o\0 " % chk
cases["sparse"] = bytes(sp)



def edited(path, edit, payloads=None):
    """The bundle at path with its manifest edited, members rehashed."""
    ms = members(path)
    m = json.loads(ms[0][1])
    edit(m)
    p = payloads if payloads is not None else [
        x for x in ms[1:] if not x[0].startswith("signatures/")]
    m["members"] = [{"name": n, "size": len(d),
                     "sha256": hashlib.sha256(d).hexdigest()} for n, d in p]
    raw = (json.dumps(m, indent=2, sort_keys=True) + "\n").encode()
    return tar([("manifest.json", raw)] + list(p))


def setter(**kv):
    def edit(m):
        for k, v in kv.items():
            if v is None:
                m.pop(k, None)
            else:
                m[k] = v
    return edit


def kind_cases(upd, data, text, mom):
    U, D = members(upd), members(data)
    ust, dst = U[1][1], D[1][1]
    c = {}
    c["update-samples-zero"] = edited(upd, setter(samples=0))
    c["update-no-parent"] = edited(upd, setter(parent=None))
    c["update-null-parent"] = edited(upd, setter(parent=json.loads("null")))
    c["update-short-parent"] = edited(upd, setter(parent="sha256:abc"))
    c["update-negative-round"] = edited(upd, setter(round=-1))
    c["update-no-steps"] = edited(upd, setter(steps=None))
    c["update-bad-arch"] = edited(upd, setter(arch="softmax:2-x"))
    c["update-other-arch"] = edited(upd, setter(arch="softmax:3-3"))
    c["update-unknown-kind"] = edited(upd, setter(kind="gradient"))
    c["update-no-format"] = edited(upd, setter(format=None))
    c["update-with-state"] = edited(upd, lambda m: None,
                                    [("tensors.safetensors", ust),
                                     ("state.safetensors", ust)])
    c["update-bad-encoding"] = edited(upd, setter(
        encoding={"scheme": "int3", "block": 256}))
    c["model-encoded"] = edited(valid, setter(
        encoding={"scheme": "int8", "block": 256,
                  "rounding": "nearest-even"}))
    c["manifest-17-members"] = edited(upd, lambda m: None,
                                      [("tensors.safetensors", ust)] * 17)
    c["members-not-array"] = tar([("manifest.json", json.dumps(dict(
        json.loads(U[0][1]), members={"name": "x"})).encode())])
    c["member-name-unknown"] = tar([("manifest.json", json.dumps(dict(
        json.loads(U[0][1]), members=[{"name": "notes.txt", "size": 2,
        "sha256": hashlib.sha256(b"hi").hexdigest()}])).encode()),
        ("notes.txt", b"hi")])
    c["member-hash-uppercase"] = tar([("manifest.json", json.dumps(dict(
        json.loads(U[0][1]), members=[{"name": "tensors.safetensors",
        "size": len(ust), "sha256": hashlib.sha256(ust).hexdigest().upper()
        }])).encode()), ("tensors.safetensors", ust)])
    c["member-extra-field"] = tar([("manifest.json", json.dumps(dict(
        json.loads(U[0][1]), members=[{"name": "tensors.safetensors",
        "size": len(ust), "sha256": hashlib.sha256(ust).hexdigest(),
        "mode": 420}])).encode()), ("tensors.safetensors", ust)])
    c["data-no-x-scale"] = edited(data, setter(x_scale=None))
    c["data-zero-features"] = edited(data, setter(features=0))
    c["data-more-samples"] = edited(data, setter(samples=1000))
    c["data-unknown-modality"] = edited(data, setter(modality="audio"))
    c["data-with-tensors"] = edited(data, lambda m: None,
                                    [("data.safetensors", dst),
                                     ("tensors.safetensors", ust)])
    c["data-missing-y"] = edited(data, lambda m: None, [(
        "data.safetensors", st_bytes(st_tensors(dst)[:1]))])
    c["data-y-as-f32"] = edited(data, lambda m: None, [(
        "data.safetensors", st_bytes([t if t[0] != "y" else
        (t[0], "F32", t[2], t[3]) for t in st_tensors(dst)]))])
    c["model-as-data"] = edited(data, lambda m: None,
                                [("tensors.safetensors", ust)])
    c["text-more-documents"] = edited(text, setter(documents=10 ** 6))
    c["text-fewer-samples"] = edited(text, lambda m: m.update(
        samples=m["samples"] - 1))
    c["moments-no-object"] = edited(mom, setter(moments=None))
    c["moments-step-zero"] = edited(mom, setter(moments={"step": 0}))
    c["moments-step-string"] = edited(mom, setter(moments={"step": "1"}))
    c["moments-object-only"] = edited(upd, setter(moments={"step": 1}))
    c["moments-negative-spread"] = edited(mom, lambda m: None, [
        members(mom)[1], ("moments.safetensors", st_bytes([
            t if not t[0].startswith("w.") else
            (t[0], t[1], t[2], struct.pack("<f", -1.0) + t[3][4:])
            for t in st_tensors(members(mom)[2][1])]))])
    return c


if kinds:
    cases.update(kind_cases(*kinds))

os.makedirs(out, exist_ok=True)
for name, data in cases.items():
    with open(os.path.join(out, name + ".fed"), "wb") as f:
        f.write(data)
with open(os.path.join(out, "good.fed.ok"), "wb") as f:
    f.write(good)
