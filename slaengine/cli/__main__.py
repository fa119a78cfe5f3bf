"""``python -m slaengine.cli``: the ``slaengine`` command."""

from slaengine.cli import main

main()
