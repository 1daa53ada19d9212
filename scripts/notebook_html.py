"""Rule notebook_html (rules/notebooks.smk): an executed notebook (results/notebooks/*.ipynb,
written by a `notebook:` rule) as one self-contained HTML page for the report.

The figures are PNGs inside the notebook, so the page embeds them (data URIs), and it loads
nothing from the network (no CDN scripts). Snakemake's
preamble cell (tagged `snakemake-job-properties`: the pickled job, the working folder) is
left out of the page; the .ipynb keeps it, as Snakemake wrote it.

Also the environment the `notebook:` rules need, set when rules/notebooks.smk is read
(`jupyter_environment`): `jupyter-nbconvert` of the Python that runs Snakemake first on
PATH (as `./run` has it; a plain `.venv/bin/snakemake` would otherwise find none, or
another one), and notebooks/jupyter/ on JUPYTER_CONFIG_PATH, whose nbconvert config makes
the kernel talk over Unix sockets (ipc) instead of TCP on localhost: nothing listens on a
port, and the notebooks run where the network (loopback too) is down, as in
`unshare -rn`.
"""

import os
from pathlib import Path

PREAMBLE_TAG = "snakemake-job-properties"
# nbconvert's JupyterLab page without the scripts it loads from a CDN (require.js, MathJax,
# mermaid): the page is whole offline, as the report that links it.
OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def jupyter_environment(environ, python_bin, config_dir) -> dict:
    """The PATH and JUPYTER_CONFIG_PATH values to set (only those that change)."""
    changes = {}
    path = environ.get("PATH", "").split(os.pathsep)
    python_bin = str(python_bin)
    if (Path(python_bin) / "jupyter-nbconvert").exists() and path[0] != python_bin:
        changes["PATH"] = os.pathsep.join([python_bin, *(p for p in path if p)])
    config = environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep)
    if config[0] != str(config_dir):
        changes["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            [str(config_dir), *(c for c in config if c)]
        )
    return changes


def to_html(ipynb, html):
    """Write the executed notebook `ipynb` as HTML (no preamble cell); returns the number
    of code cells and of embedded images."""
    # First: nbformat imports jsonschema, which is seconds faster without rfc3987_syntax.
    import quick_jsonschema  # noqa: F401

    # isort: split
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    nb = nbformat.read(ipynb, as_version=4)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    if errors:  # nbconvert --execute stops at an error; a page of one would mislead
        raise ValueError(
            f"{ipynb}: a cell failed: {errors[0].get('ename')}: {errors[0].get('evalue')}"
        )
    config = Config()
    config.TagRemovePreprocessor.remove_cell_tags = {PREAMBLE_TAG}
    config.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(
        config=config,
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="offline.html.j2",
    )
    body, _ = exporter.from_notebook_node(nb)
    Path(html).write_text(body, encoding="utf-8")
    cells = [
        c
        for c in nb.cells
        if c.cell_type == "code" and PREAMBLE_TAG not in c.metadata.get("tags", [])
    ]
    images = sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
    return len(cells), images


def _main(smk):
    cells, images = to_html(smk.input.ipynb, smk.output[0])
    with open(smk.log[0], "w") as log:
        log.write(f"{smk.input.ipynb} -> {smk.output[0]}: {cells} code cells, {images} figures\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
