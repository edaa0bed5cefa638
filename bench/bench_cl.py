"""CL command start-up and batch throughput, against named peers in the same run.

    python bench/bench_cl.py            # prints the numbers and the ratios

1. ``addsmtple`` (a real console script that adds a real, fsynced entry) against
   ``python -c pass``: the price of being a CL command. Target ratio <= 2. Then the
   same command in the option form (``--type accept --intnetadr ...``): target ratio
   <= 4; a plain invocation like this one runs without loading typer, so it is also
   measured forced through the command's typer app (QTSMTP_OPTIONS_THROUGH_TYPER=1,
   what --help, completion and mistakes cost). All are measured twice: in this checkout's
   venv (an editable install, whose import hook also costs ``python -c pass`` there),
   and in a fresh venv made for the run with ``pip install`` of a copy of this
   checkout, a normal install as a user has one, each against that venv's own
   ``python -c pass`` (``--installs`` names which).
2. ``qtsmtp run`` on CL scripts of 1,000, 5,000 and 10,000 ADDSMTPLE lines, every command
   durable (group-committed fsync) before its completion message: target 10,000 lines in
   <= 3 s, and linear growth (the cost of each extra line stays the same). Then a CL
   program whose DOFOR loop adds the same 10,000 entries with variables and expressions
   (each command bound when it runs): target <= 1.5 times the plain script's time.
3. ``addsmtple`` and ``rmvsmtple`` on a list of 1,000,000 entries against the same commands
   on a list of 10: the member's index (listindex) spares each command reading the whole
   member. Target ratio <= 1.5. The first command after the member was written by hand
   makes the index; its time is printed apart.

``--part 1,2,3`` runs only the parts named. This checkout's package is byte-compiled
first, as pip compiles an installation (with PYTHONDONTWRITEBYTECODE set, an editable
install would otherwise compile its sources again in every run).

With ``--baseline TREE`` (another qtsmtp, e.g. ``git worktree add /tmp/base COMMIT``),
parts 1 and 2 run for both versions, interleaved in the same run, and the ratios
this/baseline are printed: a before/after that shares the machine's load. Both are then
started the same way (``python -c`` calling the entry point their pyproject.toml names),
so the comparison is of qtsmtp, not of two kinds of launcher.

Runs in a temporary data root; every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import CHECKOUT as CHECKOUT_TREE
from _common import Version
from _common import script as console


def median_wall(argv: list[str], runs: int, env: dict, before=None) -> float:
    times = []
    for n in range(runs):
        if before:
            before(n)
        start = time.perf_counter()
        subprocess.run(argv(n) if callable(argv) else argv, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def host_address(n: int) -> str:
    """The n-th host address of 10.0.0.0/8."""
    return f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"


def large_list(root: Path, env: dict, entries: int) -> None:
    """Part 3: a change to a list of ``entries`` against the same change to a list of 10."""
    addsmtple, rmvsmtple = console("addsmtple"), console("rmvsmtple")
    members = root / "QUSRSYS" / "QATMADRLST"
    runs = 10
    medians = {}
    for size in (10, entries):
        shutil.rmtree(root / "QUSRSYS")
        members.mkdir(parents=True)
        (members / "ACCEPTRLY").write_text(                             # "by hand"
            "".join(f"{host_address(n)} 255.255.255.255\n" for n in range(size)))
        first = median_wall([addsmtple, "*ACCEPT INTNETADR('10.250.0.0')"], 1, env)
        # New entries are added; entries from the middle of the list are removed.
        add = median_wall(lambda n: [addsmtple, f"*ACCEPT INTNETADR('10.251.0.{n}')"], runs, env)
        rmv = median_wall(lambda n: [rmvsmtple, "*ACCEPT INTNETADR('%s')"
                                     % host_address((size // 2 + n) % size)], runs, env)
        medians[size] = add, rmv
        print(f"list of {size:9,d}: first addsmtple (makes the index) {first * 1000:8.1f} ms, "
              f"addsmtple median {add * 1000:6.1f} ms, rmvsmtple median {rmv * 1000:6.1f} ms "
              f"({runs} runs)")
    small, large = medians[10], medians[entries]
    print(f"ratio {entries:,} / 10 entries: addsmtple {large[0] / small[0]:.2f}, "
          f"rmvsmtple {large[1] / small[1]:.2f}   (target about 1)")


DOFOR_PROGRAM = """\
PGM
  DCL VAR(&N) TYPE(*INT) LEN(4)
  DCL VAR(&HI) TYPE(*INT) LEN(4)
  DOFOR VAR(&N) FROM(0) TO(%s)
    CHGVAR VAR(&HI) VALUE(&N / 256)
    ADDSMTPLE TYPE(*ACCEPT) +
              INTNETADR('10.0.' *TCAT %%CHAR(&HI) *TCAT '.' *TCAT %%CHAR(&N - &HI * 256)) +
              SUBNETMASK('255.255.255.255')
  ENDDO
ENDPGM
"""


def program_loop(root: Path, env: dict, lines: int, plain_seconds: float) -> None:
    """Part 2, last: the same entries from a DOFOR loop of a CL program."""
    qtsmtp = console("qtsmtp")
    shutil.rmtree(root / "QUSRSYS")
    (root / "QUSRSYS").mkdir()
    program = root / "loop.clp"
    program.write_text(DOFOR_PROGRAM % (lines - 1))
    start = time.perf_counter()
    subprocess.run([qtsmtp, "run", str(program)], env=env, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    added = (root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY").read_text().count("\n")
    assert added == lines, f"the DOFOR program added {added} entries, not {lines}"
    print(f"qtsmtp run, DOFOR of {lines:,d} ADDSMTPLE with variables: {seconds:6.2f} s; "
          f"ratio to the plain script {seconds / plain_seconds:.2f}   (target <= 1.5)")


def before_after(root: Path, baseline: Path, runs: int = 20) -> None:
    """Parts 1 and 2 for this checkout and for ``baseline``, alternating run by run."""
    versions = {"this": Version(CHECKOUT_TREE, root / "this-code"),
                "baseline": Version(baseline, root / "base-code")}
    data = root / "data"
    env_of = {name: {**os.environ, "QTSMTP_ROOT": str(data), **v.env} for name, v in versions.items()}
    startup = {name: [] for name in versions}
    for n in range(runs + 2):                      # the first two warm the page cache
        for name, version in versions.items():
            shutil.rmtree(data, ignore_errors=True)
            (data / "QUSRSYS").mkdir(parents=True)
            start = time.perf_counter()
            subprocess.run([*version.command("addsmtple"), f"*ACCEPT INTNETADR('10.100.0.{n}')"],
                           env=env_of[name], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            if n >= 2:
                startup[name].append(time.perf_counter() - start)
    script = root / "plain.clp"
    script.write_text("".join(f"ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.{n // 65536}.{n // 256 % 256}"
                              f".{n % 256}') SUBNETMASK('255.255.255.255')\n" for n in range(10000)))
    batch = {name: [] for name in versions}
    for _ in range(3):
        for name, version in versions.items():
            shutil.rmtree(data, ignore_errors=True)
            (data / "QUSRSYS").mkdir(parents=True)
            start = time.perf_counter()
            subprocess.run([*version.command("qtsmtp"), "run", str(script)], env=env_of[name],
                           check=True, stdout=subprocess.DEVNULL)
            batch[name].append(time.perf_counter() - start)
    a, b = (statistics.median(startup[k]) for k in ("this", "baseline"))
    print(f"before/after, addsmtple median of {runs}: this {a * 1000:.1f} ms, "
          f"baseline {b * 1000:.1f} ms, this/baseline {a / b:.2f}")
    a, b = (statistics.median(batch[k]) for k in ("this", "baseline"))
    print(f"before/after, qtsmtp run of 10,000 ADDSMTPLE, median of 3: this {a:.2f} s, "
          f"baseline {b:.2f} s, this/baseline {a / b:.2f}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000,
                        help="size of the large list in part 3")
    parser.add_argument("--baseline", type=Path, default=None, metavar="TREE",
                        help="another qtsmtp tree: parts 1 and 2 before/after in this run")
    parser.add_argument("--part", default="1,2,3", help="the parts to run, e.g. 1 or 2,3")
    parser.add_argument("--installs", default="editable,normal",
                        help="part 1: the installations measured, editable and/or normal")
    parser.add_argument("--runs", type=int, default=40, help="part 1: runs of each command")
    args = parser.parse_args()
    parts = {int(p) for p in args.part.split(",")}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(CHECKOUT_TREE / "qtsmtp")],
                   check=True, stdout=subprocess.DEVNULL)
    entries = args.entries
    root = Path(tempfile.mkdtemp(prefix="qtsmtp-bench-"))
    (root / "QUSRSYS").mkdir()
    env = {**os.environ, "QTSMTP_ROOT": str(root)}
    try:
        if args.baseline is not None:
            before_after(root / "versions", args.baseline)
        if 1 in parts:
            startup(env, root, args.installs.split(","), args.runs)
        if 2 in parts:
            batch(root, env)
        if 3 in parts:
            large_list(root, env, entries)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def normal_install(root: Path) -> Path:
    """A fresh venv with this checkout installed by ``pip install`` (not editable), from a
    copy of its working tree (pip would leave build/ in the checkout); its bin/."""
    source = root / "source"
    skipped = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                     ".hypothesis")

    def ignore(directory: str, names: list[str]) -> set[str]:
        # data/ (the embedded library and what runs on it made) is not installed
        top = Path(directory) == CHECKOUT_TREE
        return set(skipped(directory, names)) | ({"data"} if top else set())

    shutil.copytree(CHECKOUT_TREE, source, ignore=ignore)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", str(source)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return venv / "bin"


def startup(env: dict, root: Path, installs: list[str], runs: int = 40) -> None:
    """Part 1: every command of every installation interleaved, run by run, so they
    share the machine's load; each installation against its own ``python -c pass``."""
    bins = {}
    for install in installs:
        if install == "editable":
            bins[install] = Path(console("addsmtple")).parent, sys.executable
        elif install == "normal":
            print("making a fresh venv with pip install of this checkout ...", flush=True)
            normal = normal_install(root / "normal")
            bins[install] = normal, str(normal / "python")
        else:
            raise SystemExit(f"--installs: editable or normal, not {install!r}")
    commands = {}
    for k, (install, (bin_dir, python)) in enumerate(bins.items()):
        addsmtple = str(bin_dir / "addsmtple")
        commands[install, "python -c pass"] = lambda n, python=python: [python, "-c", "pass"]
        commands[install, "addsmtple (CL form)"] = lambda n, a=addsmtple, k=k: [
            a, f"*ACCEPT INTNETADR('10.{100 + k}.{n // 250}.{n % 250}')"]
        commands[install, "addsmtple --options"] = lambda n, a=addsmtple, k=k: [
            a, "--type", "accept", "--intnetadr", f"10.{110 + k}.{n // 250}.{n % 250}"]
        commands[install, "--options through typer"] = lambda n, a=addsmtple, k=k: [
            a, "--type", "accept", "--intnetadr", f"10.{120 + k}.{n // 250}.{n % 250}"]
    # The same invocation forced through the command's typer app (qtsmtp.shell.options).
    through_typer = {**env, "QTSMTP_OPTIONS_THROUGH_TYPER": "1"}
    times: dict[tuple[str, str], list[float]] = {key: [] for key in commands}
    for n in range(runs + 3):                  # the first three warm the page cache
        for key, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv(n), env=through_typer if "typer" in key[1] else env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if n >= 3:
                times[key].append(time.perf_counter() - start)
    medians = {key: statistics.median(t) for key, t in times.items()}
    for install in bins:
        peer = medians[install, "python -c pass"]
        print(f"{install} install:")
        for (of, name), median in medians.items():
            if of == install:
                print(f"  {name:24}  median {median * 1000:7.1f} ms  ({runs} runs)")
        print(f"  ratio addsmtple CL form (fsynced add) / python -c pass = "
              f"{medians[install, 'addsmtple (CL form)'] / peer:.2f}   (target <= 2)")
        print(f"  ratio addsmtple option form / python -c pass = "
              f"{medians[install, 'addsmtple --options'] / peer:.2f}   (target <= 4)")
        print(f"  ratio addsmtple option form forced through typer / python -c pass = "
              f"{medians[install, '--options through typer'] / peer:.2f}")
    print()


def batch(root: Path, env: dict) -> None:
    """Part 2."""
    qtsmtp = console("qtsmtp")
    results = {}
    for lines in (1000, 5000, 10000):
        shutil.rmtree(root / "QUSRSYS")
        (root / "QUSRSYS").mkdir()
        script = root / f"s{lines}.clp"
        script.write_text("".join(f"ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.{n // 65536}.{n // 256 % 256}"
                                  f".{n % 256}') SUBNETMASK('255.255.255.255')\n"
                                  for n in range(lines)))
        start = time.perf_counter()
        subprocess.run([qtsmtp, "run", str(script)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        results[lines] = time.perf_counter() - start
        print(f"qtsmtp run, {lines:6,d} ADDSMTPLE lines: {results[lines]:6.2f} s "
              f"({results[lines] / lines * 1e6:6.1f} us/line)")
    # Start-up is paid once; linear growth shows as a steady cost per extra line.
    early = (results[5000] - results[1000]) / 4000 * 1e6
    late = (results[10000] - results[5000]) / 5000 * 1e6
    print(f"marginal cost per line: 1k->5k {early:.1f} us, 5k->10k {late:.1f} us, "
          f"ratio {late / early:.2f}   (linear: about 1)")
    print(f"10,000 lines in {results[10000]:.2f} s   (target <= 1 s)")
    program_loop(root, env, 10000, results[10000])
    print()


if __name__ == "__main__":
    main()
