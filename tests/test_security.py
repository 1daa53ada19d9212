"""Security: a tampered model file is refused before any of its code can run, and the
workflow needs no network at run time.

- A .skops file carrying an untrusted type (a custom class whose __setstate__ would run
  a payload, or a function reference such as os.system) is refused by the loader that
  scripts/predict.py uses (model_io.load_model: skops' get_untrusted_types checked against
  an allow-list before skops.io.load), with an error naming the type; the payload's
  marker file is never created. The same file does run its payload when skops is told to
  trust it, so the test would notice a loader that trusted everything.
- The cheap ML steps (input VCF -> filter -> matrix -> features -> association -> model
  -> predictions) and a dry run of the full workflow run inside a network namespace with
  loopback only (`unshare -rn`), with a Python socket guard that logs any connection
  attempt to a non-loopback address: they succeed with zero attempts. A positive control
  first shows the guard is loaded in that environment (a probe's attempt is refused and
  counted).
"""

import os
import shutil
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import skops.io as sio
from conftest import from_small_demo_vcf
from helpers import REPO

sys.path.insert(0, str(REPO / "scripts"))
import model  # noqa: E402
import model_io  # noqa: E402
import predict  # noqa: E402

PAYLOAD = """
from pathlib import Path

class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __setstate__(self, state):  # runs when skops rebuilds the object
        Path(state["marker"]).write_text("payload ran")
        self.__dict__.update(state)
"""


@pytest.fixture
def tampered(tmp_path, monkeypatch):
    """A real model file with a payload object added to its metadata."""
    (tmp_path / "evil_payload.py").write_text(PAYLOAD)
    monkeypatch.syspath_prepend(str(tmp_path))
    import evil_payload

    rng = pd.Series(range(60))
    genotypes = pd.DataFrame(
        {f"chr1:{100 + j}:A:G": (rng * (j + 1)) % 3 for j in range(8)}, dtype="int8"
    )
    genotypes.index = pd.Index([f"S{i:03d}" for i in range(60)], name="sample")
    labels = ["case" if (i * 7) % 3 else "control" for i in range(60)]
    samples = pd.DataFrame({"sample": genotypes.index, "label": labels})
    params = {"n_estimators": 10, "cv_folds": 2, "cv_repeats": 1, "n_shuffles": 0, "n_jobs": 1}
    art = model.train(genotypes, samples, None, params)
    marker = tmp_path / "PAYLOAD_RAN"
    evil = dict(art["model"])
    evil["metadata"] = dict(evil["metadata"], note=evil_payload.Payload(str(marker)))
    path = tmp_path / "tampered.skops"
    sio.dump(evil, path)
    func = tmp_path / "function.skops"
    sio.dump(dict(art["model"], metadata={"hook": os.system}), func)
    return {"path": path, "function": func, "marker": marker, "genotypes": genotypes}


def test_tampered_model_is_refused_and_payload_not_run(tampered):
    path, marker = tampered["path"], tampered["marker"]
    assert "evil_payload.Payload" in sio.get_untrusted_types(file=path)
    with pytest.raises(model_io.UntrustedModelError, match=r"evil_payload\.Payload") as err:
        predict.predict(str(path), tampered["genotypes"])  # the rule's loader, by path
    assert "refusing to load" in str(err.value) and "allow-list" in str(err.value)
    assert not marker.exists(), "the payload ran although the model was refused"
    # The payload is live: skops told to trust the type runs it. The loader must not.
    sio.load(path, trusted=sio.get_untrusted_types(file=path))
    assert marker.read_text() == "payload ran"


def test_function_reference_is_refused(tampered):
    with pytest.raises(model_io.UntrustedModelError, match=r"posix\.system"):
        predict.predict(str(tampered["function"]), tampered["genotypes"])


# ----------------------------------------------------------------------------- network

GUARD = textwrap.dedent(
    """
    # Test guard: log (and refuse) any connection to a non-loopback address.
    import os
    import socket

    _LOG = os.environ["NET_GUARD_LOG"]
    _LOCAL = ("127.", "::1", "localhost")
    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
    _getaddrinfo = socket.getaddrinfo


    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not host.startswith(_LOCAL):
                with open(_LOG, "a") as fh:
                    fh.write(f"{os.getpid()} connect {address!r}\\n")
                raise OSError("network access refused by the test guard")


    def connect(self, address):
        _check(self, address)
        return _connect(self, address)


    def connect_ex(self, address):
        _check(self, address)
        return _connect_ex(self, address)


    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not str(host).startswith(_LOCAL):
            with open(_LOG, "a") as fh:
                fh.write(f"{os.getpid()} getaddrinfo {host!r}\\n")
        return _getaddrinfo(host, *args, **kwargs)


    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    """
)


def _offline(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("unshare not available")
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace here (unshare -rn)")
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net_attempts.log"
    env = dict(os.environ, PYTHONPATH=str(guard), NET_GUARD_LOG=str(log))
    return env, log


# Connects to TEST-NET-1 (RFC 5737, never routed) from a child process, as a workflow
# job would: the guard must refuse it and log it.
PROBE = (
    "import subprocess, sys; subprocess.run([sys.executable, '-c', "
    "'import socket; socket.create_connection((\"192.0.2.1\", 80), timeout=1)'])"
)


def _probe(env):
    return subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _assert_guard_loaded(env, log):
    """Positive control: inside the namespace, with `env`, a connection attempt from a
    grandchild Python process is refused by the guard and counted in `log` (so an empty
    log after a run means no attempt, not a guard that was never loaded)."""
    proc = _probe(env)
    assert "network access refused by the test guard" in proc.stderr, proc.stderr[-2000:]
    attempts = log.read_text().splitlines()  # the name lookup, then the connection
    assert [a.split(" ", 1)[1] for a in attempts] == [
        "getaddrinfo '192.0.2.1'",
        "connect ('192.0.2.1', 80)",
    ], attempts
    log.unlink()


def test_socket_guard_is_loaded(tmp_path):
    env, log = _offline(tmp_path)
    _assert_guard_loaded(env, log)
    # Without the guard the same attempt fails for another reason and is not counted.
    bare = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    proc = _probe(bare)
    assert "refused by the test guard" not in proc.stderr and not log.exists()


def _snakemake_offline(workdir, env, *args):
    cmd = ["unshare", "-rn", sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    cmd += ["-d", str(workdir), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


def test_no_network_at_run_time(small_demo, tmp_path):
    reference, _, _ = small_demo
    env, log = _offline(tmp_path)
    # The namespace really is offline: no interface but loopback.
    links = subprocess.run(["unshare", "-rn", "cat", "/proc/net/dev"], capture_output=True)
    ifaces = {line.split(":")[0].strip() for line in links.stdout.decode().splitlines()[2:]}
    assert ifaces == {"lo"}, ifaces
    _assert_guard_loaded(env, log)

    # A dry run of the whole workflow from reads, on a copy of the small demo's inputs.
    fresh = tmp_path / "fresh"
    for sub in ("config", "resources"):
        shutil.copytree(reference / sub, fresh / sub)
    dry = _snakemake_offline(fresh, env, "-n")
    assert dry.returncode == 0, dry.stderr[-3000:]

    # The ML steps for real, from the small demo's cohort VCF.
    work = tmp_path / "offline"
    from_small_demo_vcf(work, reference)
    run = _snakemake_offline(work, env)
    assert run.returncode == 0, run.stderr[-4000:]
    assert (work / "results/model/metrics.json").exists()
    assert (work / "results/predict/predictions.tsv").exists()
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"network access attempted:\n{attempts}"


def test_tampered_model_refused_by_the_workflow(small_demo, tampered, tmp_path):
    """predict_with a tampered model: the run stops at the predict job with the refusal
    in its log, and the payload never runs."""
    reference, _, _ = small_demo
    work = tmp_path / "predict"
    from_small_demo_vcf(
        work,
        reference,
        {"predict_with": str(tampered["path"])},
    )
    env = dict(os.environ, PYTHONPATH=str(tampered["path"].parent))  # payload importable
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work)]
    proc = subprocess.run(
        [*cmd, "--cores", "2"], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode != 0
    log_file = work / "results/logs/predict/predict.log"
    log = log_file.read_text() if log_file.exists() else ""
    out = proc.stdout + proc.stderr + log
    assert "UntrustedModelError" in out and "evil_payload.Payload" in out
    assert not tampered["marker"].exists()
    assert not (work / "results/predict/predictions.tsv").exists()
