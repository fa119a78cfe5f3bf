"""The history document (:mod:`slaengine.ledger.report`) rendered for people and programs.

- :mod:`~slaengine.ledger.history_views.text`: plain text, for a terminal or a text file;
- :mod:`~slaengine.ledger.history_views.markdown`: Markdown (GitHub's tables), text escaped;
- :mod:`~slaengine.ledger.history_views.page`: one self-contained, autoescaped HTML page, with
  the inline SVG charts of :mod:`~slaengine.ledger.history_views.charts` when pygal is installed;
- :mod:`~slaengine.ledger.history_views.jsondoc`: strict JSON (money as strings) and its schema;
- :mod:`~slaengine.ledger.history_views.shared`: the texts every rendering shares (money, spans,
  versions, notes, restatement differences).

Each takes the document as :func:`~slaengine.ledger.report.history_document` returns it and
leaves it unchanged; jinja2 and pygal are imported only when a page is rendered.
"""
