"""rebundle: read a bundle's manifest and members, and write them back as
a bundle whose manifest lists each member's size and SHA-256 afresh, for
tests that make hostile variants of valid bundles (import it with
tests/sh on sys.path)."""
import hashlib, io, json, tarfile


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
