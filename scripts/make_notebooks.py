"""Writes the notebooks in notebooks/ from the cell sources below (outputs are not committed:
the test suite executes them). Run after editing: python scripts/make_notebooks.py"""

import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = {}

NOTEBOOKS["01_weight_distributions.ipynb"] = [
    new_markdown_cell("""# Which distribution do the weights follow?

Reproduces the main source paper's weight-distribution experiment (SPEC §3; paper Tables 3.1–3.3) on every
model in `../shared/data/models` and on edgequant's embedded digits CNNs: the file composition, then the
eight families of the paper ranked by SSE and by KL against the weight histogram (centred on the mean,
99 % of the mass). The paper found Laplace first by SSE for 57 % of its 14 ONNX model-zoo CNNs and second for
43 %; by KL first for 43 % and second for 50 %."""),
    new_code_cell("""import pathlib
import pandas as pd
import edgequant
from edgequant.analysis import analyze_model, PAPER_FAMILIES
from edgequant.data import shared_data_dir
from edgequant.zoo import list_models, model_path

models = {name: model_path(name) for name in list_models()}
data = shared_data_dir()
if data is not None:
    models.update({p.stem: p for p in sorted((data / "models").glob("*.onnx"))})
analyses = {name: analyze_model(path, families="paper") for name, path in models.items()}
list(analyses)"""),
    new_markdown_cell("## Table 3.1 — composition of the files"),
    new_code_cell("""pd.DataFrame([{
    "model": name, "parameters": a.composition["parameters"], "file (bytes)": a.composition["file_bytes"],
    "weights + biases (bytes)": a.composition["weight_and_bias_bytes"],
    "weights + biases (%)": round(a.composition["weight_and_bias_percent"], 2),
} for name, a in analyses.items()])"""),
    new_markdown_cell("## Tables 3.2 and 3.3 — the three best families by SSE and by KL"),
    new_code_cell("""def top3(criterion):
    rows = []
    for name, a in analyses.items():
        ranked = a.whole.ranking(criterion)[:3]
        rows.append({"model": name, **{f"{i + 1}º": fit.family for i, fit in enumerate(ranked)}})
    return pd.DataFrame(rows)

top3("sse")"""),
    new_code_cell("""top3("kl")"""),
    new_markdown_cell("## Does Laplace lead, as in the paper?"),
    new_code_cell("""rows = []
for criterion, paper in (("sse", (57, 43)), ("kl", (43, 50))):
    ranks = [a.rank_of("laplace", criterion) for a in analyses.values()]
    rows.append({"criterion": criterion.upper(), "models": len(ranks),
                 "Laplace 1st (%)": round(100 * sum(r == 1 for r in ranks) / len(ranks), 1),
                 "Laplace 2nd (%)": round(100 * sum(r == 2 for r in ranks) / len(ranks), 1),
                 "paper 1st / 2nd (%)": f"{paper[0]} / {paper[1]}"})
pd.DataFrame(rows)"""),
    new_markdown_cell("""## With the paper's "future work" families

Student-t and the generalized normal (shape β: 1 = Laplace, 2 = Gaussian) nest Laplace, Cauchy and the
Gaussian, so they can only fit as well or better; their fitted shape says where between Laplace and Gaussian
the weights lie."""),
    new_code_cell("""extended = []
for name, path in models.items():
    a = analyze_model(path)  # all ten families
    gennorm = a.whole.fits["kl"]["gennorm"].params["beta"]
    suggestion = a.recommendation().split(": ", 1)[1].split(" (")[0]
    extended.append({"model": name, "best SSE": a.top("sse", 1)[0], "best KL": a.top("kl", 1)[0],
                     "gennorm β (KL fit)": round(gennorm, 3), "suggested quantizer": suggestion})
pd.DataFrame(extended)"""),
    new_code_cell("""from edgequant.plots import plot_fits
name = "squeezenet1.0_fp16" if "squeezenet1.0_fp16" in analyses else next(iter(analyses))
plot_fits(analyses[name].whole, title=name, criterion="kl");"""),
]


def main():
    folder = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
    folder.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                      "language": "python"}})
        nbformat.write(notebook, folder / name)
        print("wrote", folder / name)


if __name__ == "__main__":
    main()
