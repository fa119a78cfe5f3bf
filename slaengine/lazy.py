"""numpy and pyarrow, imported when first used rather than when a module is loaded.

The commands that read no data (``validate``, ``plugins``, ``metrics``, ``--help``) load every
plugin and most of the core; importing numpy and pyarrow for them would cost several times
what they do. A module that needs them writes ``from slaengine.lazy import np, pa, pc`` in
place of the usual imports: the first attribute looked up (``pa.table``) imports the real
module, and from then on every look-up is as fast as on the module itself. Type checkers see
the real modules.

A third-party plugin may import numpy and pyarrow as usual: it only pays for them itself.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

__all__ = ["LazyModule", "ds", "np", "pa", "pacsv", "pc", "pq"]


class LazyModule(ModuleType):
    """A stand-in for the module ``name`` that imports it on the first attribute looked up.

    The real module's names are then copied in, so later look-ups find them directly; a name
    the module gains later (a submodule imported afterwards) is still found through it.
    """

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(vars(module))
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazily imported module {self.__name__!r}>"


if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
else:
    np = LazyModule("numpy")
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")
    pacsv = LazyModule("pyarrow.csv")
    ds = LazyModule("pyarrow.dataset")
    pq = LazyModule("pyarrow.parquet")
