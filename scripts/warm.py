#!/usr/bin/python3
"""A warm Python for scripts/demo-torch: one process imports PyTorch once
and forks a child for each script run, so that the demo's ten holders do
not each pay PyTorch's start-up (1.5 s of CPU, more than a small shard's
epoch) every round on the one machine that plays them all.

usage: warm.py --serve SOCKET [MODULE-DIR]
       WARM_SOCKET=SOCKET warm.py SCRIPT [ARGS...]

--serve listens on the Unix socket SOCKET (made mode 0600), having
imported fedtorch from MODULE-DIR (default examples/ beside this folder),
until killed.  The second form is a stand-in for `python3 SCRIPT ARGS`
(so it can be a script's $PYTHON): it asks the server at $WARM_SOCKET to
run SCRIPT as __main__ with ARGS in a child forked from the server, with
this process's working directory, environment, umask, standard input,
output and error (its priority and limits are the server's), and exits
with the script's status.  The child is a new process,
as a fresh interpreter would be, so the same inputs give the same bytes.
When no server answers, the script runs in a fresh interpreter:
$WARM_PYTHON, or the one running this.
"""
import json
import os
import runpy
import signal
import socket
import struct
import sys
import traceback

PROG = "warm.py"
REQUEST_MAX = 1 << 20


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        part = conn.recv(n - len(buf))
        if not part:
            raise EOFError("connection closed")
        buf += part
    return buf


def child(conn):
    """Serve the request on conn, in the process forked for it."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    status = 1
    try:
        head, fds, _, _ = socket.recv_fds(conn, 4, 3)
        n = struct.unpack("<I", head + recv_exact(conn, 4 - len(head)))[0]
        if len(fds) != 3 or n > REQUEST_MAX:
            raise ValueError("bad request")
        req = json.loads(recv_exact(conn, n))
        for i, fd in enumerate(fds):
            os.dup2(fd, i)
            os.close(fd)
        os.chdir(req["cwd"])
        os.umask(req["umask"])
        os.environ.clear()
        os.environ.update(req["env"])
        sys.argv = req["argv"]
        sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
            status = 0
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else (e.code is not None)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
        except BaseException:   # noqa: B036 -- the script's, reported as python does
            traceback.print_exc()
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except (OSError, ValueError):     # closed by the script
                pass
    except (OSError, ValueError, EOFError, KeyError, TypeError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
    try:
        conn.sendall(struct.pack("<i", status))
    finally:
        os._exit(0)


def at(path, fn):
    """fn(name) for the Unix socket path, from its folder: a socket's
    address is limited to 107 bytes, its folder's path is not."""
    here = os.open(".", os.O_RDONLY)
    try:
        os.chdir(os.path.dirname(path) or ".")
        return fn(os.path.basename(path))
    finally:
        os.fchdir(here)
        os.close(here)


def serve(path, modules):
    sys.path.insert(0, modules)
    import fedtorch  # noqa: F401 -- the point: PyTorch imported once
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)      # children reap themselves
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        at(path, s.bind)
    except OSError as e:
        print(f"{PROG}: {path}: {e.strerror}", file=sys.stderr)
        sys.exit(1)
    finally:
        os.umask(old)
    s.listen(16)
    sys.stdout.flush()
    sys.stderr.flush()
    while True:
        conn, _ = s.accept()
        if os.fork() == 0:
            s.close()
            child(conn)
        conn.close()


def run(path, argv):
    cwd = os.getcwd()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if not path:
            raise OSError
        at(path, conn.connect)
    except OSError:
        python = os.environ.get("WARM_PYTHON") or sys.executable
        os.execv(python, [python] + argv)
    mask = os.umask(0o22)
    os.umask(mask)
    req = json.dumps({"argv": argv, "cwd": cwd, "umask": mask,
                      "env": dict(os.environ)}).encode()
    try:
        socket.send_fds(conn, [struct.pack("<I", len(req))], [0, 1, 2])
        conn.sendall(req)
        status = struct.unpack("<i", recv_exact(conn, 4))[0]
    except (OSError, EOFError) as e:
        print(f"{PROG}: {argv[0]}: no status from the server: {e}", file=sys.stderr)
        status = 1
    sys.exit(status)


def main():
    a = sys.argv[1:]
    if a and a[0] == "--serve" and len(a) in (2, 3):
        here = os.path.dirname(os.path.abspath(__file__))
        serve(a[1], a[2] if len(a) == 3 else os.path.join(here, "..", "examples"))
    elif a and not a[0].startswith("-"):
        run(os.environ.get("WARM_SOCKET", ""), a)
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
