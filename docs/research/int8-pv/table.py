import json
R = json.load(open("results.json"))
pct = lambda x: f"{100*x:.3f}"
print("| V fmt | case | T | rows | D vs exact | A vs exact (Δ vs D) | B vs exact (Δ vs D) | C vs exact (Δ vs D) | A vs deq | B vs deq | C vs deq | D vs deq |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in R:
    d = r["D"]["exact"]
    cells = [r["fmt"], r["case"], str(r["T"]), str(r["n_rows"]), pct(d)]
    for v in "ABC":
        e = r[v]["exact"]
        cells.append(f"{pct(e)} (+{pct(e-d)}, ×{e/d:.2f})")
    for v in "ABCD":
        cells.append(pct(r[v]["deq"]))
    print("| " + " | ".join(cells) + " |")
print()
print("Outlier-channel rows, worst 32-dim block (rel RMS within the block, vs deq): " + "; ".join(
    f"{r['fmt']} {r['case']}: A {pct(r['A']['deq_worst_block'])}, B {pct(r['B']['deq_worst_block'])}" for r in R if "outlier" in r["case"]))
