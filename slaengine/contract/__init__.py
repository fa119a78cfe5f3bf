"""Read a contract (TOML), check it completely, and give back a typed :class:`Contract`.

Every problem names the file, the key path (``service_levels[2].target``) and, where the key can
be found, its line. All problems found are reported at once, so one run shows every typo.

- ``model``: the typed contract (:class:`Contract`, :class:`SourceSpec`, :class:`ServiceLevel`,
  :class:`Exclusion`) and :class:`MeasureSpec`, what decides which levels share a measure;
- ``read``: the file read (:func:`load_contract`, :func:`parse_contract`): size, encoding, TOML,
  nesting;
- ``check``: the document checked part by part into a :class:`Contract`;
- ``problems``: the problems gathered while checking (:class:`ContractProblems`);
- ``sources`` and ``levels``: the checks of ``[sources.NAME]`` tables and of
  ``[[service_levels]]`` entries (:func:`statistic_unit`: a statistic's unit).
"""

from slaengine.contract.levels import TARGET_EXAMPLES, TARGET_UNITS, statistic_unit
from slaengine.contract.model import (
    NOT_MEASURED,
    Contract,
    Exclusion,
    MeasureSpec,
    ServiceLevel,
    SourceSpec,
    measure_spec,
)
from slaengine.contract.problems import ContractProblems
from slaengine.contract.read import MAX_CONTRACT_BYTES, MAX_DEPTH, load_contract, parse_contract

__all__ = [
    "MAX_CONTRACT_BYTES",
    "MAX_DEPTH",
    "NOT_MEASURED",
    "TARGET_EXAMPLES",
    "TARGET_UNITS",
    "Contract",
    "ContractProblems",
    "Exclusion",
    "MeasureSpec",
    "ServiceLevel",
    "SourceSpec",
    "load_contract",
    "measure_spec",
    "parse_contract",
    "statistic_unit",
]
