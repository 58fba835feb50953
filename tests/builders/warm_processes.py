"""`precheck` as a process of its own, forked from an interpreter that has already imported the libraries
(torch, transformers, sentence-transformers), for the tests about what precheck's process does once it runs
(a signal while it writes, two runs racing for one file) and the tests that run the `precheck` command many
times through a shell or pre-commit (the CI recipes of docs/ci.md): docs/testing.md, "Keeping it fast".

A fresh `python -c "from precheck.cli import main; main()"` spends about 7 s of this CPU importing the
stack before precheck's first step, however small the model: most of such a test's time. Here one warm
interpreter per test file pays that once. Each `WarmProcess` is a real process all the same: its own
pid (signals reach it with os.kill), its own stdin/stdout/stderr (the ones the test gave it), the
environment the test gave it, Python's start-up signal dispositions (SIGINT raises KeyboardInterrupt,
SIGTERM and SIGHUP at their defaults, SIGPIPE ignored), `sys.argv[0] == "-c"`, and the code run as
`python -c` runs it, so it ends as a Python process ends (the exit code, atexit, the streams flushed; an
uncaught exception a traceback and exit 1). precheck itself is never imported before the fork: its
import, its hooks and its checkpoints (precheck/cli/_checkpoint.py) happen in the child.

What a warm process cannot show is Python's own start-up and the libraries' import (what they print, how
they read the environment): the tests about those (a quiet stderr, the entry point, an interrupt while
precheck is imported) start a fresh interpreter. The server imports the stack under the session's
environment; a test that changes what the libraries read at import starts a fresh interpreter too.

Two ways in, one server: a test starts a process with `WarmInterpreter.start` (as subprocess.Popen would),
and a script, shell or pre-commit runs `precheck` through `WarmInterpreter.command`, a shim on PATH that
connects to the server's Unix socket, passes its own arguments, folder, environment, stdin, stdout and
stderr, and exits with the child's status (128 + the signal's number for a child a signal ended, as a shell
reports it); the child starts as the console script starts precheck (`sys.argv[0] == "precheck"`):

    python warm_processes.py SOCKET [ARGS...]        # one `precheck ARGS...`, its exit status
"""
from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

# The server: `python -c SERVER FD [SOCKET]`, FD its end of a socketpair, SOCKET a path where it also takes
# requests, one a connection (the shim's). It imports the stack, then for each request (a JSON message with
# four fds: a reply socket and the child's stdin, stdout, stderr) forks a monitor,
# which forks the child, replies with the child's pid, waits for it and replies with its exit code as
# Popen.returncode gives it. The server and the monitors are single-threaded: forking them is safe.
SERVER = r'''
import gc, json, os, select, signal, socket, sys
import torch, transformers, sentence_transformers  # what precheck imports; precheck itself is not
assert "precheck" not in sys.modules
# Out of the collector before forking, as Python's docs advise for a pre-fork server: a child's first
# collection would otherwise write to every object's header, copying the whole heap page by page (about
# 0.8 s a child). Nothing alive changes; the command's own process freezes its heap after its first
# collection the same way (precheck/loading/load.py).
gc.collect()
gc.freeze()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the monitors
channel = socket.socket(fileno=int(sys.argv[1]))
listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
if len(sys.argv) > 2:
    listener.bind(sys.argv[2])
    listener.listen()
channel.sendall(b"ready\n")


def receive():
    """The next request, from the test session's channel or from a connection to the socket path."""
    if len(sys.argv) > 2 and channel not in select.select([channel, listener], [], [])[0]:
        with listener.accept()[0] as connection:
            return socket.recv_fds(connection, 1 << 20, 4)[:2]
    message, fds = socket.recv_fds(channel, 1 << 20, 4)[:2]
    if not message:  # the test session closed its end
        os._exit(0)
    return message, fds


def serve():
    while True:
        message, fds = receive()
        if len(fds) != 4:  # a shim gone before it asked
            for fd in fds:
                os.close(fd)
            continue
        sys.stdout.flush(); sys.stderr.flush()
        if os.fork() == 0:  # the monitor
            channel.close()
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            reply = socket.socket(fileno=fds[0])
            child = os.fork()
            if child == 0:
                reply.close()
                return json.loads(message), fds[1:]
            for fd in fds[1:]:
                os.close(fd)
            reply.sendall(f"{child}\n".encode())
            reply.sendall(f"{os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])}\n".encode())
            os._exit(0)
        for fd in fds:
            os.close(fd)


request, streams = serve()
for target, fd in enumerate(streams):
    os.dup2(fd, target)
    os.close(fd)
os.environ.clear()
os.environ.update(request["env"])
os.chdir(request["cwd"])
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
sys.argv[:] = ["-c", *request["args"]]
sys.path[0] = ""
code = compile(request["code"], "<string>", "exec")
namespace = {"__name__": "__main__", "__builtins__": __builtins__}
sys.modules["__main__"] = type(sys)("__main__")
sys.modules["__main__"].__dict__.update(namespace)
del gc, json, os, select, signal, socket, receive, serve, request, streams, target, fd, channel, listener
exec(code, sys.modules["__main__"].__dict__)
'''


# What the shim runs: `precheck` as its console script starts it (precheck/cli/__init__.py reads argv[0]).
COMMAND = "import sys; sys.argv[0] = 'precheck'; from precheck.cli import main; main()"


def _request(code: str, args: list, env) -> dict:
    return {"code": code, "args": [str(a) for a in args], "env": dict(env), "cwd": os.getcwd()}


class WarmInterpreter:
    """One server per test file or session (a fixture); start() forks a WarmProcess from it, and with a
    socket path, command() puts a `precheck` on PATH whose every run is forked from it."""

    def __init__(self, env: dict, socket_path: Path | None = None) -> None:
        ours, theirs = socket.socketpair()
        self._channel = ours
        self._socket_path = socket_path
        listening = [] if socket_path is None else [str(socket_path)]
        self._server = subprocess.Popen([sys.executable, "-c", SERVER, str(theirs.fileno()), *listening], env=env,
                                        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        theirs.close()
        if ours.recv(6) != b"ready\n":
            raise RuntimeError(f"the warm interpreter did not start: {self._server.communicate()[1]!r}")
        self._server_stderr = self._server.stderr  # what the libraries print at import: not the children's

    def start(self, code: str, args: list, env: dict, stdin=None, stdout=None, stderr=None) -> "WarmProcess":
        """As subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdin=..., text=True) would."""
        return WarmProcess(self._channel, _request(code, args, env), stdin, stdout, stderr)

    def command(self, folder: Path, name: str = "precheck") -> Path:
        """An executable `folder/name` that runs `precheck` with its arguments as a child of this server."""
        assert self._socket_path is not None, "a command needs the server started with a socket path"
        shim = folder / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "{self._socket_path}" "$@"\n')
        shim.chmod(0o755)
        return shim

    def close(self) -> None:
        self._channel.close()
        self._server.wait(timeout=60)
        self._server_stderr.close()
        if self._socket_path is not None:
            self._socket_path.unlink(missing_ok=True)


def _child_fd(stream, standard: int, ours: list) -> int:
    """A stream argument as subprocess takes it (None, PIPE, DEVNULL, an fd or a file): the child's fd."""
    if stream is None:  # inherited, as subprocess does; /dev/null where this process has none open
        try:
            return os.dup(standard)
        except OSError:
            return os.open(os.devnull, os.O_RDWR)
    if stream == subprocess.DEVNULL:
        return os.open(os.devnull, os.O_RDWR)
    if stream == subprocess.PIPE:
        read, write = os.pipe()
        ours.append(write if standard == 0 else read)
        return read if standard == 0 else write
    return os.dup(stream if isinstance(stream, int) else stream.fileno())


class WarmProcess:
    """What the tests use of a text-mode subprocess.Popen: pid, send_signal, kill, poll, wait, communicate,
    returncode, and stderr/stdout as text files when asked as PIPE."""

    def __init__(self, channel: socket.socket, request: dict, stdin, stdout, stderr) -> None:
        pipes: list[int] = []
        fds = [_child_fd(stream, standard, pipes) for standard, stream in enumerate((stdin, stdout, stderr))]
        self.stdin = os.fdopen(pipes.pop(0), "w") if stdin == subprocess.PIPE else None
        self.stdout = os.fdopen(pipes.pop(0), "r") if stdout == subprocess.PIPE else None
        self.stderr = os.fdopen(pipes.pop(0), "r") if stderr == subprocess.PIPE else None
        self._reply, theirs = socket.socketpair()
        try:
            socket.send_fds(channel, [json.dumps(request).encode()], [theirs.fileno(), *fds])
        finally:
            theirs.close()
            for fd in fds:
                os.close(fd)
        self._received = b""
        self.returncode: int | None = None
        self.pid = int(self._line(timeout=60))

    def _line(self, timeout: float | None) -> str | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._received:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._reply], [], [], left)[0]:
                return None
            chunk = self._reply.recv(64)
            if not chunk:
                raise RuntimeError("the warm interpreter's monitor ended without the child's exit code")
            self._received += chunk
        line, self._received = self._received.split(b"\n", 1)
        return line.decode()

    def poll(self) -> int | None:
        if self.returncode is None:
            line = self._line(timeout=0)
            if line is not None:
                self.returncode = int(line)
                self._reply.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            line = self._line(timeout)
            if line is None:
                raise subprocess.TimeoutExpired(["warm", self.pid], timeout)
            self.returncode = int(line)
            self._reply.close()
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(9)

    def communicate(self, timeout: float | None = None) -> tuple[str | None, str | None]:
        if self.stdin is not None:
            self.stdin.close()
        outputs: dict[str, str] = {}
        readers = [threading.Thread(target=lambda name=name, f=f: outputs.__setitem__(name, f.read()), daemon=True)
                   for name, f in (("stdout", self.stdout), ("stderr", self.stderr)) if f is not None]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout)
        self.wait(timeout)
        for f in (self.stdout, self.stderr):
            if f is not None:
                f.close()
        return outputs.get("stdout"), outputs.get("stderr")


def run_command(socket_path: str, args: list) -> int:
    """The shim: `precheck ARGS` forked from the server listening at socket_path, with this process's
    folder, environment, stdin, stdout and stderr; its exit status."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as connection:
        connection.connect(socket_path)
        process = WarmProcess(connection, _request(COMMAND, args, os.environ), None, None, None)
    code = process.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(run_command(sys.argv[1], sys.argv[2:]))
