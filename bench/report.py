#!/usr/bin/env python3
"""compare.sh's summary.tsv + extras.tsv -> table.md and chart.svg in the same folder.

Standard library only. Usage: bench/report.py RESULTS_DIR
Every figure is also given as a ratio against the best server of the run for that figure, and the
issue's targets are checked against the peers they name.
"""
import csv
import html
import statistics
import sys
from pathlib import Path

NAMES = {
    "prefork": "**Prefork Hello**", "prefork-aot": "**Prefork Hello, NativeAOT**",
    "prefork-wc16": "**Prefork Hello, --worker-connections 16**", "prefork-kestrel": "**Prefork KestrelHello**",
    "prefork-before": "Prefork Hello, before (BEFORE)", "apache": "Apache 2.4 prefork", "gunicorn": "gunicorn (sync)",
    "starman": "Starman", "kestrel": "Kestrel (1 process)", "nginx": "nginx", "node": "Node cluster",
}


def number(text, default=None):
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def load(folder):
    summary = {r["label"]: r for r in csv.DictReader(open(folder / "summary.tsv"), delimiter="\t")}
    extras = {r["label"]: r for r in csv.DictReader(open(folder / "extras.tsv"), delimiter="\t")}
    rows = []
    for label, s in summary.items():
        e = extras.get(label, {})
        fair_total = number(e.get("fair_total"), 0)
        conns = number(e.get("fair_conns"), 0)
        even = fair_total / conns if conns else 0
        rows.append({
            "server": s["server"], "workers": s["workers"],
            "ka": number(s["ka_rps"], 0), "close": number(s["close_rps"], 0),
            "ka_p99": number(s["ka_p99_ms"]), "close_p99": number(s["close_p99_ms"]), "ka_max": number(e.get("ka_max_ms")),
            "ka_err": s["ka_err(c/r/w/t)"], "close_err": s["close_err(c/r/w/t)"],
            "fair_min": number(e.get("fair_min"), 0) / even if even else None,
            "fair_max": number(e.get("fair_max"), 0) / even if even else None,
            "idle_rss": number(e.get("idle_worker_rss")), "idle_pss": number(e.get("idle_worker_pss")),
            "load_rss": number(e.get("load_worker_rss")), "load_pss": number(e.get("load_worker_pss")),
            "master_rss": number(e.get("idle_master_rss")), "master_pss": number(e.get("idle_master_pss")),
            "cold": number(e.get("cold_median_ms")), "cold_runs": e.get("cold_runs_ms", ""),
            "reload_failed": number(e.get("reload_failed")), "reload_ms": e.get("reload_ms", "n/a"),
            "gates": e.get("gates", ""),
        })
    return rows


def ours(row):
    return row["server"].startswith("prefork")


def best(rows, key, higher):
    values = [r[key] for r in rows if r[key] is not None]
    if not values:
        return None
    return max(values) if higher else min(values)


def ratio(value, top, higher):
    if value is None or top in (None, 0):
        return ""
    if not higher and value == 0:
        return " (1.00×)"
    return f" ({value / top:.2f}×)" if higher else f" ({top / value:.2f}×)" if value else ""


def mib(kib):
    return "-" if kib is None else f"{kib / 1024:.1f}"


def table(rows):
    tops = {k: best(rows, k, h) for k, h in [("ka", True), ("close", True), ("ka_p99", False), ("close_p99", False),
                                              ("idle_pss", False), ("load_pss", False), ("cold", False)]}
    out = [
        "| server | keep-alive rps | `Connection: close` rps | p99 ka / close (ms) | max ka (ms) | per-connection share min / max | "
        "per worker RSS / PSS idle (MiB) | per worker RSS / PSS loaded (MiB) | master RSS / PSS (MiB) | cold start (ms) | "
        "failed in reloads | reload time each (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        name = NAMES.get(r["server"], r["server"])
        fair = "-" if r["fair_min"] is None else f"{r['fair_min']:.2f} / {r['fair_max']:.2f}"
        failed = "n/a" if r["reload_failed"] is None else f"{r['reload_failed']:.0f}"
        master = "(same)" if r["server"].startswith("kestrel") else f"{mib(r['master_rss'])} / {mib(r['master_pss'])}"
        errors = "" if r["ka_err"] == "0/0/0/0" else f" err {r['ka_err']}"
        close_errors = "" if r["close_err"] == "0/0/0/0" else f" err {r['close_err']}"
        out.append(
            f"| {name} ({r['workers']}) | {r['ka']:.0f}{ratio(r['ka'], tops['ka'], True)}{errors} | "
            f"{r['close']:.0f}{ratio(r['close'], tops['close'], True)}{close_errors} | "
            f"{r['ka_p99']:.1f} / {r['close_p99']:.1f} | {r['ka_max'] or 0:.0f} | {fair} | "
            f"{mib(r['idle_rss'])} / {mib(r['idle_pss'])}{ratio(r['idle_pss'], tops['idle_pss'], False)} | "
            f"{mib(r['load_rss'])} / {mib(r['load_pss'])} | {master} | "
            f"{r['cold'] or 0:.0f}{ratio(r['cold'], tops['cold'], False)} | {failed} | {r['reload_ms']} |")
    out.append("")
    out.append("(n×) = against the best server of this run for that column (1.00× is the best; below 1 is worse). "
               "Per-connection share = requests one keep-alive connection got over an even share (1.00), "
               "with wrk -t32 -c32: 0 means a connection starved.")
    return out


def targets(rows):
    by = {r["server"]: r for r in rows}
    us = by.get("prefork")
    if us is None:
        return ["no Prefork row"]
    lines = ["", "| target (issue #8) | measured | |", "|---|---|---|"]

    def check(text, have, want, ok):
        lines.append(f"| {text} | {have} against {want} | {'**hit**' if ok else '**missed**'} |")

    if "apache" in by:
        check("`Connection: close` rps ≥ 1.2× Apache prefork", f"{us['close']:.0f}", f"{1.2 * by['apache']['close']:.0f} needed",
              us["close"] >= 1.2 * by["apache"]["close"])
    if "kestrel" in by:
        check("keep-alive rps ≥ Kestrel's single process", f"{us['ka']:.0f}", f"{by['kestrel']['ka']:.0f}", us["ka"] >= by["kestrel"]["ka"])
    if us["reload_failed"] is not None:
        check("0 failed requests during reloads", f"{us['reload_failed']:.0f}", "0", us["reload_failed"] == 0)
    if "gunicorn" in by and us["idle_pss"] and by["gunicorn"]["idle_pss"]:
        check("per-worker PSS ≤ 1.5× gunicorn's (idle)", f"{mib(us['idle_pss'])} MiB", f"{mib(1.5 * by['gunicorn']['idle_pss'])} MiB",
              us["idle_pss"] <= 1.5 * by["gunicorn"]["idle_pss"])
    if "gunicorn" in by and us["load_pss"] and by["gunicorn"]["load_pss"]:
        check("per-worker PSS ≤ 1.5× gunicorn's (loaded)", f"{mib(us['load_pss'])} MiB", f"{mib(1.5 * by['gunicorn']['load_pss'])} MiB",
              us["load_pss"] <= 1.5 * by["gunicorn"]["load_pss"])
    if "starman" in by and us["cold"] and by["starman"]["cold"]:
        check("cold start under Starman's", f"{us['cold']:.0f} ms", f"{by['starman']['cold']:.0f} ms", us["cold"] < by["starman"]["cold"])
    if "kestrel" in by and "prefork-wc16" in by:
        wc = by["prefork-wc16"]
        check("keep-alive rps ≥ Kestrel's, with --worker-connections 16", f"{wc['ka']:.0f}", f"{by['kestrel']['ka']:.0f}", wc["ka"] >= by["kestrel"]["ka"])
    if "starman" in by and "prefork-aot" in by:
        aot, starman = by["prefork-aot"], by["starman"]
        for when in ("idle", "load"):
            if aot[f"{when}_pss"] and starman[f"{when}_pss"]:
                check(f"NativeAOT per-worker PSS under Starman's ({'loaded' if when == 'load' else when})", f"{mib(aot[f'{when}_pss'])} MiB",
                      f"{mib(starman[f'{when}_pss'])} MiB", aot[f"{when}_pss"] < starman[f"{when}_pss"])
        if aot["cold"] and starman["cold"]:
            check("NativeAOT cold start under Starman's", f"{aot['cold']:.0f} ms", f"{starman['cold']:.0f} ms", aot["cold"] < starman["cold"])
    if us["fair_min"] is not None:
        lines.append(f"| fairness (no keep-alive connection starved) | min share {us['fair_min']:.2f} | "
                     f"{'**hit**' if us['fair_min'] > 0 else '**missed**'} |")
    peers = [r for r in rows if not ours(r)]
    lines.append("")
    for key, higher, what in [("ka", True, "keep-alive rps"), ("close", True, "`Connection: close` rps"),
                              ("ka_p99", False, "keep-alive p99"), ("idle_pss", False, "idle PSS per worker"),
                              ("cold", False, "cold start")]:
        top = best(peers, key, higher)
        owner = next((r["server"] for r in peers if r[key] == top), "?")
        if top and us[key]:
            factor = us[key] / top if higher else top / us[key]
            lines.append(f"- {what}: Prefork {factor:.2f}× the best peer ({NAMES.get(owner, owner)})")
    return lines


def chart(rows, path):
    panels = [("keep-alive requests/s", "ka", True), ("Connection: close requests/s", "close", True),
              ("p99 latency, keep-alive (ms)", "ka_p99", False), ("p99 latency, close (ms)", "close_p99", False),
              ("PSS per worker, loaded (MiB)", "load_pss", False), ("cold start to first 200 (ms)", "cold", False),
              ("failed requests during reloads", "reload_failed", False), ("least per-connection share (1 = even)", "fair_min", True)]
    bar_h, gap, label_w, bar_w, panel_w, cols = 16, 4, 130, 200, 400, 2
    panel_h = 28 + len(rows) * (bar_h + gap) + 12
    width, height = cols * panel_w + 20, ((len(panels) + cols - 1) // cols) * panel_h + 40
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           '<text x="10" y="22" font-size="14" font-weight="bold">Prefork Hello against its peers, one run, same machine (2 workers each; Kestrel 1 process)</text>']
    for i, (title, key, higher) in enumerate(panels):
        x0, y0 = 10 + (i % cols) * panel_w, 40 + (i // cols) * panel_h
        svg.append(f'<text x="{x0}" y="{y0 + 14}" font-weight="bold">{html.escape(title)}{"" if higher else " (lower is better)"}</text>')
        values = [r[key] for r in rows if r[key] is not None]
        top = max(values) if values else 0
        for j, r in enumerate(rows):
            y = y0 + 24 + j * (bar_h + gap)
            value = r[key]
            colour = "#d9480f" if ours(r) else "#4263eb"
            svg.append(f'<text x="{x0 + label_w - 6}" y="{y + 12}" text-anchor="end">{html.escape(r["server"])}</text>')
            if value is None:
                svg.append(f'<text x="{x0 + label_w + 4}" y="{y + 12}" fill="#888">n/a</text>')
                continue
            w = 0 if top == 0 else max(1, bar_w * value / top)
            svg.append(f'<rect x="{x0 + label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
            text = f"{value:.2f}" if key == "fair_min" else f"{value / 1024:.1f}" if key.endswith("pss") else f"{value:.0f}" if value >= 10 else f"{value:.1f}"
            svg.append(f'<text x="{x0 + label_w + w + 4:.1f}" y="{y + 12}">{text}</text>')
    svg.append("</svg>")
    path.write_text("\n".join(svg) + "\n")


def main():
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    rows = load(folder)
    rows.sort(key=lambda r: (not ours(r), r["server"] != "prefork", -r["close"]))
    env = (folder / "env.txt").read_text().split("\n") if (folder / "env.txt").exists() else []
    lines = [f"Run of {env[3] if len(env) > 3 else '?'} ({' / '.join(e for e in env[:3] if e)}), dotnet {env[4] if len(env) > 4 else '?'}.", ""]
    lines += table(rows) + targets(rows)
    gates = {r["server"]: r["gates"] for r in rows if "NOT-quiet" in r["gates"]}
    if gates:
        lines += ["", "Runs that started on a busy CPU (the quiet gate timed out): " + ", ".join(f"{k} ({v})" for k, v in gates.items())]
    (folder / "table.md").write_text("\n".join(lines) + "\n")
    chart(rows, folder / "chart.svg")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
