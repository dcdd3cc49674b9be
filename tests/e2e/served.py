"""``rongyiban serve`` as a real multi-process service (Sanic workers), for end-to-end tests and
benchmarks."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

RONGYIBAN = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]
ROOT = Path(__file__).resolve().parents[2]

# several `rongyiban` commands, one after another, in one Python process: each is ``cli.main(argv)``
# with its own standard input, output and error, as a shell would run them; only the interpreter's
# start-up (importing the service takes seconds) is paid once instead of once per command
_MANY = """
import contextlib, io, json, sys
import cli
results = []
for argv, given in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    sys.stdin = io.StringIO(given)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
    results.append([code, out.getvalue(), err.getvalue()])
sys.__stdout__.write("\\n" + json.dumps(results) + "\\n")
"""


def rongyiban_many(commands: list[tuple[list[str], str]], env: dict[str, str],
                   timeout: float = 300) -> list[subprocess.CompletedProcess]:
    """Run ``rongyiban ARGV`` with the given standard input for each of ``commands``, in order, in one
    process; one ``CompletedProcess`` (return code, stdout, stderr) per command."""
    process = subprocess.run([sys.executable, "-c", _MANY], input=json.dumps(commands), env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=timeout)
    assert process.returncode == 0, process.stderr
    return [subprocess.CompletedProcess([*RONGYIBAN, *argv], code, out, err)
            for (argv, _), (code, out, err) in zip(commands, json.loads(process.stdout.strip().splitlines()[-1]), strict=True)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(env: dict[str, str], workers: int, timeout: float = 300) -> Iterator[str]:
    """Start the service; yield its base URL once every worker is ready (the kernel spreads new
    connections over the workers, so readiness is asked on many fresh connections)."""
    port = free_port()
    log = open(Path(env["RYB_DATA_DIR"]).parent / "serve.log", "w")  # noqa: SIM115 — closed below
    process = subprocess.Popen([*RONGYIBAN, "serve", "--port", str(port), "--workers", str(workers)],
                               env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, ready_in_a_row = time.monotonic() + timeout, 0
        while ready_in_a_row < 10 * workers:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=5).status_code == 200
            except httpx.TransportError:
                ready = False
            ready_in_a_row = ready_in_a_row + 1 if ready else 0
            if process.poll() is not None:
                raise RuntimeError(f"the service exited; see {log.name}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the service was not ready within {timeout} s; see {log.name}")
            time.sleep(0.05 if ready else 0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
