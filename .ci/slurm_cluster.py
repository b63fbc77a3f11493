"""A real single-node SLURM on loopback with two fake GPUs, for .ci/slurm_e2e.py.

Installs Debian's SLURM packages when missing, writes /etc/slurm/slurm.conf and
gres.conf (only where no other configuration is there: the files carry a marker), starts
munged, slurmctld and slurmd, and stops exactly the daemons it started, by PID. The
configuration is the one verified in issue 14; MinJobAge is long so that
`scontrol show job` still lists every job of the test at its end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

MARK = "# written by segsweep .ci/slurm_cluster.py"
CONF = Path("/etc/slurm")
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]


def why_not() -> str | None:
    """Why this machine cannot host the test cluster; None when it can."""
    if os.geteuid() != 0:
        return "not root (installing and starting SLURM daemons needs root)"
    if not all(shutil.which(t) for t in ("slurmctld", "slurmd", "sbatch")) and not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it"
    conf = CONF / "slurm.conf"
    if conf.exists() and MARK not in conf.read_text():
        return f"{conf} exists and is not ours: not touching a real cluster's configuration"
    return None


def install() -> None:
    if all(shutil.which(t) for t in ("slurmctld", "slurmd", "sbatch", "munged")):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq", *PACKAGES],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def write_config(cpus: int, memory_mb: int) -> None:
    CONF.mkdir(parents=True, exist_ok=True)
    (CONF / "slurm.conf").write_text(f"""{MARK}
ClusterName=local
SlurmctldHost=localhost
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
MailProg=/bin/true
MinJobAge=3600
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} Gres=gpu:2 State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
""")
    (CONF / "gres.conf").write_text(f"""{MARK}
AutoDetect=off
NodeName=localhost Name=gpu File=/dev/null
NodeName=localhost Name=gpu File=/dev/zero
""")
    for folder in ("/var/log/slurm", "/var/spool/slurmctld", "/var/spool/slurmd"):
        Path(folder).mkdir(parents=True, exist_ok=True)
    shutil.chown("/var/spool/slurmctld", "slurm", "slurm")
    shutil.chown("/var/log/slurm", "slurm", "slurm")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _pidfile(path: str) -> int | None:
    try:
        pid = int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid) else None


def start() -> list[int]:
    """Start the daemons that are not running; return the PIDs of those started here."""
    started = []
    daemons = [
        ("/run/munge/munged.pid", ["su", "-s", "/bin/sh", "munge", "-c", "/usr/sbin/munged"]),
        ("/run/slurmctld.pid", ["slurmctld"]),
        ("/run/slurmd.pid", ["slurmd", "-N", "localhost"]),
    ]
    Path("/run/munge").mkdir(parents=True, exist_ok=True)
    shutil.chown("/run/munge", "munge", "munge")
    if _pidfile("/run/slurmctld.pid") is None:
        write_config(os.cpu_count() or 1, _real_memory())
    for pidfile, cmd in daemons:
        if _pidfile(pidfile) is None:
            Path(pidfile).unlink(missing_ok=True)  # a stale one would name a dead daemon
            subprocess.run(cmd, check=True)
            started.append(_wait_pid(pidfile))
    _wait_idle()
    return started


def stop(pids: list[int]) -> None:
    """SIGTERM the daemons started here (slurmd first, munged last), by PID."""
    for pid in reversed(pids):
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 30
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.5)


def _real_memory() -> int:
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    value = next(w for w in out.split() if w.startswith("RealMemory="))
    return max(1000, int(value.split("=")[1]) - 1000)


def _wait_pid(path: str, timeout: float = 30) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        pid = _pidfile(path)
        if pid is not None:
            return pid
        time.sleep(0.2)
    raise RuntimeError(f"no live daemon behind {path} after {timeout:.0f} s")


def _wait_idle(timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = subprocess.run(["sinfo", "-h", "-n", "localhost", "-o", "%t"], capture_output=True, text=True).stdout
        state = state.strip()
        if state in ("idle", "mix", "alloc"):
            return
        if any(s in state for s in ("drain", "inval", "down")):
            subprocess.run(["scontrol", "update", "nodename=localhost", "state=resume"], capture_output=True)
        time.sleep(1)
    raise RuntimeError(f"the SLURM node is not idle after {timeout:.0f} s (sinfo: {state!r})")
