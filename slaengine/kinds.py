"""The plugin types under their former module name: use :mod:`slaengine.plugin`.

``slaengine.kinds`` said "kind" for two things (a plugin's type and a record's kind); the
plugin types are now :mod:`slaengine.plugin`. This module keeps plugins written against 0.1
working, and warns where they import it.
"""

import warnings
from typing import Any

import slaengine.plugin as _plugin

warnings.warn("slaengine.kinds is now slaengine.plugin; import the plugin types from there",
              DeprecationWarning, stacklevel=2)

globals().update({name: value for name, value in vars(_plugin).items()
                  if not name.startswith("__")})


def __getattr__(name: str) -> Any:  # names slaengine.plugin makes when first asked for
    return getattr(_plugin, name)
