"""The look of the pages: the CSS of a study's page, of a suite's and of a notebook's report.

Every page shares :data:`PAGE_CSS` (layout, headings, tables, figures), so that
a suite's page and the pages of its studies read alike.
"""

__all__ = ["NOTEBOOK_CSS", "PAGE_CSS", "STUDY_CSS"]

#: What every page shares.
PAGE_CSS = """
body { margin: 0; background: #f6f8fa; color: #1f2328;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1400px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
.meta, .note, figcaption { color: #57606a; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 6px; text-align: left; white-space: nowrap; }
th { white-space: normal; vertical-align: bottom; }
td { border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; font-weight: 600; }
.num { text-align: right; }
td.text { white-space: normal; min-width: 14em; }
figure { margin: 24px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
"""
#: A study's page: the shared look, its verdict, banners, summary and trials tables.
STUDY_CSS = PAGE_CSS + """
.note { font-size: 13px; max-width: 80em; }
.headline { font-size: 1.1em; }
.verdict { border-left: 4px solid #d0d7de; padding-left: 8px; }
.verdict.decided { border-left-color: #1a7f37; }
.banner { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 12px; }
.banner ul { margin: 4px 0 0; padding-left: 20px; }
.problem { color: #9a6700; border-left: 4px solid #d4a72c; padding-left: 8px; }
ul.columns { color: #57606a; font-size: 13px; max-width: 80em; margin: 8px 0; padding-left: 20px; }
.wide { overflow-x: auto; }
table.summary tr.pooled td { border-top: 1px solid #d0d7de; }
table.summary tr.pooled td:not(.text) { font-weight: 600; }
table.summary tr:not(.pooled) td:first-child { color: #8c959f; }
.scroll { overflow: auto; max-height: 640px; border: 1px solid #d0d7de; }
.scroll thead th { position: sticky; top: 0; }
pre { background: #f6f8fa; border-radius: 6px; padding: 12px; overflow: auto; }
"""
# Scoped to the report's fragment, so that a notebook keeps its own look.
NOTEBOOK_CSS = """
.tuner-report .note, .tuner-report figcaption, .tuner-report ul.columns { color: #57606a; }
.tuner-report .verdict { border-left: 4px solid #d0d7de; padding-left: 8px; }
.tuner-report .verdict.decided { border-left-color: #1a7f37; }
.tuner-report table { font-variant-numeric: tabular-nums; }
.tuner-report th, .tuner-report td { padding: 3px 6px; text-align: left; white-space: nowrap; }
.tuner-report .num { text-align: right; }
.tuner-report td.text { white-space: normal; min-width: 14em; }
.tuner-report tr.pooled td { font-weight: 600; }
.tuner-report figure { margin: 16px 0; }
.tuner-report img { max-width: 100%; height: auto; }
"""
