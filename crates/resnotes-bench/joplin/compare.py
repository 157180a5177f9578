#!/usr/bin/env python3
"""Resilient Notes vs. Joplin, side by side, from one command.

Installs the Joplin terminal client (npm joplin@3.5.1, needs Debian's libsecret-1-dev) into a
local prefix, exports the benchmark corpus as markdown files, runs the same notes through Joplin
with a file-system sync target (import, first sync up, first sync down on a second profile, a
no-op sync, one edited note up and down) and through `resnotes-bench`, then prints both tools'
figures and the ratio.

    python3 crates/resnotes-bench/joplin/compare.py [--notes 10000] [--work DIR] [--json FILE]
"""
import argparse, json, os, resource, shutil, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def run(cmd, **kw):
    """Runs a command, failing loudly; returns (seconds, peak RSS MiB of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    dt = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return dt, max(peak, before) / 1024.0, p.stdout


def du(path):
    out = subprocess.run(["du", "-sk", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    return int(out.split()[0]) * 1024


def install_joplin(prefix):
    joplin = os.path.join(prefix, "node_modules", ".bin", "joplin")
    if os.path.exists(joplin):
        return joplin
    if subprocess.run(["dpkg", "-s", "libsecret-1-dev"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "libsecret-1-dev"], check=True)
    print(f"installing joplin@3.5.1 into {prefix} (several minutes) ...", file=sys.stderr)
    run(["npm", "i", "--no-audit", "--no-fund", "--prefix", prefix, "joplin@3.5.1"])
    return joplin


def joplin_figures(joplin, work, corpus):
    p1, p2, target = (os.path.join(work, d) for d in ("profile1", "profile2", "sync"))
    for d in (p1, p2, target):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(target)
    j = lambda prof, *a: [joplin, "--profile", prof, *a]
    for prof in (p1, p2):
        run(j(prof, "config", "sync.target", "2"))
        run(j(prof, "config", "sync.2.path", target))
    f = {}
    print("joplin: import ...", file=sys.stderr)
    f["import_s"], _, _ = run(j(p1, "import", corpus, "--format", "md"))
    print("joplin: first sync up ...", file=sys.stderr)
    f["push_s"], f["sync_up_peak_rss_mib"], _ = run(j(p1, "sync"))
    print("joplin: first sync down ...", file=sys.stderr)
    f["join_s"], f["sync_down_peak_rss_mib"], _ = run(j(p2, "sync"))
    f["idle_sync_s"], _, _ = run(j(p2, "sync"))
    run(j(p1, "use", "corpus"))
    _, _, out = run(j(p1, "ls", "-n", "1", "-l"))
    note = out.split()[0]
    run(j(p1, "set", note, "body", "edited body"))
    f["one_edit_up_s"], _, _ = run(j(p1, "sync"))
    f["one_edit_down_s"], _, _ = run(j(p2, "sync"))
    f["profile_bytes"] = du(p1)
    f["folder_bytes"] = du(target)
    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notes", type=int, default=10000)
    ap.add_argument("--work", default=None, help="work dir (default: a temp dir); the Joplin install is kept in WORK/joplin")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="resnotes-vs-joplin-")
    os.makedirs(work, exist_ok=True)
    joplin = install_joplin(os.path.join(work, "joplin"))
    corpus = os.path.join(work, "corpus")
    shutil.rmtree(corpus, ignore_errors=True)
    run(["cargo", "build", "--release", "-p", "resnotes-bench", "-p", "resnotes-cli", "--quiet"], cwd=ROOT)
    bench = os.path.join(ROOT, "target", "release", "resnotes-bench")
    run([bench, "--export-corpus", str(a.notes), corpus])
    ours_json = os.path.join(work, "ours.json")
    print("resnotes: benchmark ...", file=sys.stderr)
    run([bench, "--notes", str(a.notes), "--idle-entries", "2000", "--json", ours_json, "--bin", os.path.join(ROOT, "target", "release", "resnotes")])
    ours = json.load(open(ours_json))[f"notes_{a.notes}"]
    theirs = joplin_figures(joplin, work, corpus)
    rows = [
        ("first sync up (s)", ours["push_s"], theirs["push_s"]),
        ("first sync down / join (s)", ours["join_s"], theirs["join_s"]),
        ("no-op sync (s)", ours["idle_sync_ms"]["median"] / 1000, theirs["idle_sync_s"]),
        ("one edit up + down (s)", ours["incremental_ms"]["median"] / 1000, theirs["one_edit_up_s"] + theirs["one_edit_down_s"]),
        ("local data (MB)", ours["local_bytes"] / 1e6, theirs["profile_bytes"] / 1e6),
        ("sync folder (MB)", ours["folder_bytes"] / 1e6, theirs["folder_bytes"] / 1e6),
        ("memory (MiB, peak RSS)", ours.get("watch_peak_rss_mib", 0), theirs["sync_down_peak_rss_mib"]),
    ]
    print(f"\n{a.notes} notes: resnotes vs joplin 3.5.1 (file-system target), on {os.cpu_count()} CPUs\n")
    print(f"{'figure':<30}{'resnotes':>12}{'joplin':>12}{'joplin/resnotes':>18}")
    for name, o, t in rows:
        ratio = t / o if o else float("inf")
        print(f"{name:<30}{o:>12.4f}{t:>12.3f}{ratio:>17.1f}x")
    print(f"(joplin import of the markdown files: {theirs['import_s']:.1f} s)")
    result = {"notes": a.notes, "resnotes": ours, "joplin": theirs}
    if a.json:
        json.dump(result, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
