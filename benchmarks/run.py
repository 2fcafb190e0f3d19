"""Benchmarks of the local stack (``make bench``).

- startup: from launching ``goflow local`` (a subprocess, as a user runs it) to the first healthy
  ``GET /api/health``; median of 3 runs, target under 3 s;
- seed run: create the seed "Send Welcome Email" workflow, trigger it and poll until the run is
  recorded SUCCEEDED, through the local API (the run's first request also pays cold starts).

Prints a small table and writes ``benchmarks/results.json``.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from goflow.examples import welcome_email_workflow

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results.json"
RUNS = 3
STARTUP_TARGET_S = 3.0
SEED_WORKFLOW = welcome_email_workflow()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(method: str, url: str, key: str | None = None, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data, headers, method=method), timeout=30
        ) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux; NaN elsewhere): unlike wall time,
    it does not depend on what else the machine is doing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(state_dir: Path) -> dict[str, float | int]:
    """Start the stack, wait for health, run the seed workflow, stop with SIGINT."""
    port, aws_port, key = free_port(), free_port(), "gf_" + secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOFLOW_") and k != "AWS_ENDPOINT_URL"}
    env.update({"GOFLOW_API_KEY": key, "GOFLOW_STATE_DIR": str(state_dir)})
    api = f"http://127.0.0.1:{port}/api"
    command = [sys.executable, "-m", "goflow.cli", "local", "--port", str(port), "--aws-port", str(aws_port)]
    with (state_dir / "console.txt").open("wb") as console:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=console, stderr=subprocess.STDOUT)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"goflow local exited {process.returncode}: see {state_dir}/console.txt")
            try:
                if request("GET", f"{api}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.02)
        startup = time.perf_counter() - started
        startup_cpu = cpu_seconds(process.pid)

        run_started = time.perf_counter()
        status, workflow = request("POST", f"{api}/workflows", key, SEED_WORKFLOW)
        assert status == 201, workflow
        parameters = {"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"}
        status, accepted = request(
            "POST", f"{api}/workflows/{workflow['id']}/trigger", key, {"parameters": parameters}
        )
        assert status == 202, accepted
        while True:
            status, execution = request("GET", f"{api}/executions/{accepted['execution_id']}", key)
            if execution["status"] != "RUNNING":
                break
            time.sleep(0.02)
        assert execution["status"] == "SUCCEEDED", execution
        seed_run = time.perf_counter() - run_started
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(30)
    return {"startup_s": startup, "startup_cpu_s": startup_cpu, "seed_run_s": seed_run, "exit_code": code}


def main() -> int:
    runs = []
    with tempfile.TemporaryDirectory(prefix="goflow-bench-") as temp:
        for number in range(RUNS):
            state_dir = Path(temp) / f"run{number}"
            state_dir.mkdir()
            runs.append(one_run(state_dir))
    startup = statistics.median(float(r["startup_s"]) for r in runs)
    seed_run = statistics.median(float(r["seed_run_s"]) for r in runs)
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "runs": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in runs],
        "startup_to_healthy_s": {"median": round(startup, 3), "target": STARTUP_TARGET_S},
        "startup_cpu_s": {"median": round(statistics.median(float(r["startup_cpu_s"]) for r in runs), 3)},
        "seed_workflow_to_succeeded_s": {"median": round(seed_run, 3)},
        "clean_exits": sum(1 for r in runs if r["exit_code"] == 0),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"{'measure':<40}{'median':>10}{'runs':>28}")
    for name, key in (
        ("goflow local → healthy /api/health", "startup_s"),
        ("  of which CPU time of goflow local", "startup_cpu_s"),
        ("seed workflow → SUCCEEDED", "seed_run_s"),
    ):
        values = " ".join(f"{float(r[key]):.2f}" for r in runs)
        print(f"{name:<40}{statistics.median(float(r[key]) for r in runs):>9.2f}s{values:>28}")
    verdict = "met" if startup < STARTUP_TARGET_S else "NOT met"
    load = results["machine"]["load_average_1m"]  # type: ignore[index]
    print(f"\nstartup target < {STARTUP_TARGET_S:.0f} s: {verdict} (1-min load average {load})")
    print(f"clean exits on SIGINT: {results['clean_exits']}/{RUNS}; results in {RESULTS.relative_to(ROOT)}")
    return 0 if results["clean_exits"] == RUNS else 1


if __name__ == "__main__":
    raise SystemExit(main())
