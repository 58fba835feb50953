"""The `precheck` command for tests that run it many times as a process (the CI recipes of docs/ci.md):
each run is a process of its own, forked from a server that has already imported what every scan
imports, instead of a new interpreter that spends most of its time importing torch, transformers and
sentence-transformers (about 6 s of a 7 s run of a tiny model on a 2-core CPU).

What a run gets is a command's process: the caller's arguments, working folder, environment and its
own stdin, stdout and stderr (the caller's file descriptors, passed over a Unix socket), and the exit
status the caller returns. What it does not get: the environment is the caller's from the start of
the command on, but the libraries were imported under the server's (the variables huggingface_hub and
torch read at import, such as HF_HOME, are the test session's). A test about the process itself
(signals, start-up imports, the console script) starts a real one instead.

    python forked_command.py serve SOCKET            # prints "ready" once it listens, ends when stdin does
    python forked_command.py run SOCKET [ARGS...]    # one `precheck ARGS...`, its exit status
"""
from __future__ import annotations

import json
import os
import socket
import sys

_FDS = (0, 1, 2)


def _exit_status(code) -> int:
    """sys.exit's argument as the status Python's own exit gives it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _child(request: dict, fds: list[int]) -> None:
    for target, fd in zip(_FDS, fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = request["argv"]
    status = 0
    try:
        from precheck.cli import main

        main()
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:  # noqa: BLE001 - an uncaught error ends the process as Python ends it
        import traceback

        traceback.print_exc()
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def serve(path: str) -> None:
    sys.argv = ["precheck"]  # imported as the console script imports it (precheck/cli/__init__.py)
    import precheck.cli  # noqa: F401
    import sentence_transformers  # noqa: F401 - torch and transformers with it: what every scan imports

    import threading

    # Gone with the test that started it: its end of stdin closes when it exits, however it exits.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen()
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        with connection:
            message, fds, _, _ = socket.recv_fds(connection, 1 << 20, len(_FDS))
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                listener.close()
                _child(json.loads(message), fds)
            for fd in fds:
                os.close(fd)
            _, wait_status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(wait_status)
            connection.send(str(128 - code if code < 0 else code).encode())


def run(path: str, args: list[str]) -> int:
    request = {"argv": ["precheck", *args], "cwd": os.getcwd(), "env": dict(os.environ)}
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as connection:
        connection.connect(path)
        socket.send_fds(connection, [json.dumps(request).encode()], list(_FDS))
        return int(connection.recv(16))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        sys.exit(run(sys.argv[2], sys.argv[3:]))
