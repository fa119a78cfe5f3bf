"""Service credits: from verdicts to what the vendor owes, every step shown.

A penalty model (a plugin, ``[penalties] model = "NAME"``) turns each period's verdicts into base
credit lines, one per failed service level. :func:`assess` then applies the rules that hold for
any model, in this order, each leaving a line in the period's ledger so a vendor can redo the sum
by hand:

1. **rounding** -- every line is rounded to the currency's minor unit when it is made
   (``rounding = "half-up"`` by default, or ``"half-even"``, ``"down"``; ``decimals`` overrides
   the minor unit). Later steps work on rounded amounts, so the ledger adds up exactly. Amounts
   written in the contract are never rounded: one finer than the currency's minor unit (or
   ``decimals``, when finer) is refused when the contract is read (:func:`money_problems`).
2. **exclusions** -- ``[[penalties.exclusions]]`` with ``period``, optional ``service_level``
   (none: every service level) and ``reason``. The base line stays visible and a line of the
   opposite amount (rule ``exclusion``) says why it is not charged. An excluded failure does not
   count towards chronic failure, and an excluded period is skipped by the earn-back window.
3. **chronic failure** -- ``chronic = { breaches = 3, within = 6, multiplier = "1.5",
   note = "termination right" }``: when a service level has a credit-bearing failure in
   ``breaches`` or more of the last ``within`` evaluated periods (the current one included), the
   schedule carries a ``chronic-failure`` flag, and the current credit is multiplied (a line
   with rule ``chronic`` adds ``credit × (multiplier - 1)``). ``within = "year"`` counts the
   failures of the current contract year so far instead.
4. **caps** -- first any cap the model sets (the at-risk pool), then ``cap_per_period`` (an
   amount, or a share of the period's fee: ``"12%"``; a quarter's fee is 3 monthly fees, a
   week's 12/52 of one, a year's 12), then ``cap_per_year`` (an amount, or a share of twelve
   **monthly** fees whatever the period), each a negative line. The year is the contract year
   (``[contract] year_start``, see :mod:`slaengine.years`; by default the calendar year).
   Earn-back does not free room under the yearly cap.
5. **earn-back** -- ``earn_back_periods = N``: a service level's charged credit is returned when
   the service level is ``met`` (its target, not just its minimum) in each of the next ``N``
   evaluated periods that are not excluded for it. The return is a negative line (rule
   ``earn-back``) in the period that completes the run. What it returns is the credit's share
   of what its period kept after caps: the whole credit (base + chronic) when the period was
   not capped; when it was, ``earn_back_order = "pro-rata"`` (the default) gives each credit
   ``credit × kept ÷ credits before caps`` (shares rounded down to the minor unit, the units
   left over to the largest remainders, so they add up to what was kept), whichever of them
   comes due and when; ``"contract-order"`` returns whole credits, in the order they come
   due (within a period in the contract's order), until what the period kept runs out. Every
   return line shows its share. A run still open at the end of the data is flagged
   ``earn-back-pending``. Only an earn-back takes a period's credits (``after_caps -
   earned_back``) below zero, and its line says so.
6. **bonuses** -- ``[[penalties.bonuses]]`` with ``service_level``, ``stretch`` (a target in the
   contract grammar, e.g. ``">= 90%"``) and ``amount`` (money or a share of the period's fee):
   each period in which every verdict of the service level meets the stretch target earns a
   bonus line. Bonuses are kept apart from the credits and only meet them in ``net``.

Per period: ``before_caps`` (base + chronic - exclusions), ``capped`` (what the caps removed),
``after_caps``, ``earned_back``, ``bonuses`` and ``net = after_caps - earned_back - bonuses``
(what the vendor owes the client; negative: the client owes the vendor). Per contract year
(``2026``, or ``2026/27`` with ``year_start = "04-01"``): the sums of its periods.

A service level broken down with ``by`` has one verdict per segment; a model sees one
:class:`LevelOutcome` per service level and period whose status is the worst of its segments
(critical > breached > insufficient data > met) and whose compliance is the lowest.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from slaengine.errors import ContractError, KeyPath, PluginError, SlaError, did_you_mean
from slaengine.money import parse_amount
from slaengine.schema import PENALTY_KEYS, key_lines, line_of
from slaengine.targets import Target, TargetError, exact_figure, parse_target
from slaengine.verdicts import Evaluation, Status, Verdict, format_value
from slaengine.years import periods_per_year

if TYPE_CHECKING:
    from slaengine.contract import Contract
    from slaengine.kinds import PenaltyModel

ROUNDING_MODES: dict[str, str] = {
    "half-up": ROUND_HALF_UP,
    "half-even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
}
"""``rounding = "..."`` -> the :mod:`decimal` rounding mode."""

MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
"""ISO 4217 currencies whose minor unit is not the cent (every other one: 2 decimals)."""

FEE_MONTHS: dict[str, Decimal] = {"month": Decimal(1), "quarter": Decimal(3), "year": Decimal(12)}
"""A period's fee in monthly fees; a week is 12/52 of a monthly fee (see :func:`period_fee`)."""

FAILED: tuple[Status, ...] = ("breached", "critical")
_SEVERITY: dict[str, int] = {"met": 0, "insufficient_data": 1, "breached": 2, "critical": 3}

EARN_BACK_ORDERS = ("pro-rata", "contract-order")
"""``earn_back_order``: how earn-backs share what a capped period kept (see :func:`assess`)."""

EXCLUSION, CHRONIC, CAP_PER_PERIOD, CAP_PER_YEAR, EARN_BACK, BONUS = (
    "exclusion", "chronic", "cap-per-period", "cap-per-year", "earn-back", "bonus",
)
"""The ``rule`` of the lines the common steps add (a model's own lines carry its name)."""


# --------------------------------------------------------------------------- amounts


@dataclass(frozen=True)
class Rounding:
    """How every line is rounded: a mode from :data:`ROUNDING_MODES` and a number of decimals."""

    mode: str = "half-up"
    decimals: int = 2

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)

    def __call__(self, amount: Decimal) -> Decimal:
        return amount.quantize(self.quantum, rounding=ROUNDING_MODES[self.mode])

    def describe(self) -> str:
        """``"half-up to 0.01"``."""
        return f"{self.mode} to {self.quantum}"


def rounding_of(options: Mapping[str, Any], currency: str) -> Rounding:
    """The rounding ``[penalties]`` asks for; by default half-up to the currency's minor unit."""
    mode = options.get("rounding", "half-up")
    if mode not in ROUNDING_MODES:
        raise SlaError(f'rounding "{mode}" is not accepted', suggestion=did_you_mean(
            str(mode), ROUNDING_MODES), accepted=list(ROUNDING_MODES))
    decimals = options.get("decimals", MINOR_UNITS.get(currency, 2))
    return Rounding(mode=mode, decimals=int(decimals))


_PERCENT = re.compile(r"([0-9]+(?:\.[0-9]+)?)%", re.ASCII)
PERCENT_FORM = 'digits with an optional "." and decimals, then "%", quoted, such as "12%" or "2.5%"'
"""The accepted form of a percentage, for messages."""


def parse_percent(text: object) -> Decimal:
    """``"12%"`` -> ``Decimal("0.12")``; written as a string so no float touches it.

    The number before ``%`` follows the one form of :func:`slaengine.money.parse_amount` (ASCII
    digits, an optional ``.`` and decimals; no comma, sign, blank or exponent).
    """
    if not isinstance(text, str):
        return _refuse_percent(text)
    match = _PERCENT.fullmatch(text)
    if match is None:
        if text.endswith("%"):
            try:
                parse_amount(text[:-1])
            except ValueError as exc:
                raise ValueError(f"{exc} before the %") from None
        raise ValueError(f"{_show(text)} is not a percentage; expected {PERCENT_FORM}")
    try:
        return parse_amount(match.group(1)) / 100
    except ValueError as exc:
        raise ValueError(f"{exc} before the %") from None


def _refuse_percent(text: object) -> Decimal:
    shown = "true or false" if isinstance(text, bool) else f"the number {text!r}"
    raise ValueError(f"found {shown}; expected {PERCENT_FORM}")


def _show(text: str, limit: int = 40) -> str:
    shown = repr(text[:limit])[1:-1]
    return f'"{shown}…"' if len(text) > limit else f'"{shown}"'


def plain(number: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: ``Decimal("1.50")`` -> ``"1.5"``."""
    text = format(number.normalize(), "f")
    return text


def percent_text(share: Decimal) -> str:
    """``Decimal("0.125")`` -> ``"12.5%"``."""
    return plain(share * 100) + "%"


@dataclass(frozen=True)
class FeeShare:
    """An amount written as money (``"500.00"``) or as a share of a fee (``"12%"``)."""

    text: str
    amount: Decimal | None = None
    share: Decimal | None = None

    @classmethod
    def parse(cls, text: object) -> FeeShare:
        if isinstance(text, str) and text.strip().endswith("%"):
            return cls(text=text, share=parse_percent(text))
        return cls(text=str(text), amount=parse_amount(text))

    def of(self, fee: Decimal | None, fee_name: str = "period's fee") -> Decimal:
        """The amount: itself, or its share of ``fee`` (exact, not rounded)."""
        if self.amount is not None:
            return self.amount
        assert self.share is not None
        if fee is None:
            raise SlaError(f'"{self.text}" is a share of the {fee_name}, but the contract has no '
                           "monthly_fee; add [contract] monthly_fee or write an amount")
        return fee * self.share

    def explain(self, fee: Decimal | None) -> str:
        """How the amount is made: ``"500.00"`` or ``"12% of 180000.00"``."""
        if self.amount is not None:
            return str(self.amount)
        return f"{percent_text(self.share or Decimal(0))} of {fee}"


def period_fee(contract: Contract) -> Decimal | None:
    """The fee of one evaluation period: the monthly fee × 1 (month), 3 (quarter), 12 (year),
    or × 12 ÷ 52 (week, computed to 28 significant digits and only rounded on a credit line).
    ``None`` when the contract has no ``monthly_fee``."""
    fee = contract.monthly_fee
    if fee is None:
        return None
    if contract.period == "week":
        return fee * 12 / 52
    return fee * FEE_MONTHS[contract.period]


def period_fee_text(contract: Contract) -> str:
    """How :func:`period_fee` was reached, for notes: ``"monthly fee 180000.00"``."""
    fee = contract.monthly_fee
    if contract.period == "month":
        return f"monthly fee {fee}"
    if contract.period == "week":
        return f"weekly fee ({fee} × 12 ÷ 52)"
    return f"{contract.period}ly fee ({FEE_MONTHS[contract.period]} × {fee})"


# --------------------------------------------------------------------------- what models see


@dataclass(frozen=True)
class LevelOutcome:
    """One service level in one period, over all its segments.

    ``status`` is the worst segment's (critical > breached > insufficient_data > met),
    ``compliance`` the lowest known one as an exact Fraction (None if no segment has one).
    """

    service_level: str
    period: str
    status: Status
    compliance: Fraction | None
    verdicts: tuple[Verdict, ...]

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def has_minimum(self) -> bool:
        return any(v.minimum is not None for v in self.verdicts)

    def describe(self) -> str:
        """``"fcr critical in 2026-03: 65.0% against target >= 80% (minimum >= 70%)"``."""
        parts = []
        for v in self.verdicts:
            if v.status != self.status:
                continue
            text = f"{format_value(v.value, v.unit)} against target {v.target}"
            if v.minimum:
                text += f" (minimum {v.minimum})"
            segment = ", ".join(f"{k}={x}" for k, x in v.segment.items())
            parts.append(f"{segment}: {text}" if segment else text)
        status = self.status.replace("_", " ")
        return f"{self.service_level} {status} in {self.period}: " + "; ".join(parts)


def outcomes(evaluation: Evaluation) -> list[LevelOutcome]:
    """One :class:`LevelOutcome` per service level and period: by period, then contract order."""
    grouped: dict[tuple[str, str], list[Verdict]] = {}
    for verdict in evaluation.verdicts:
        grouped.setdefault((verdict.service_level, verdict.period), []).append(verdict)
    result = []
    for (level, period), verdicts in grouped.items():
        status = max((v.status for v in verdicts), key=_SEVERITY.__getitem__)
        known = [exact_compliance(v.compliance) for v in verdicts if v.compliance is not None]
        result.append(LevelOutcome(level, period, status, min(known) if known else None,
                                   tuple(verdicts)))
    return sorted(result, key=lambda o: o.period)


def exact_compliance(compliance: Fraction | Decimal | float) -> Fraction:
    """A verdict's compliance as the exact Fraction that decides bands and credits.

    The engine's verdicts carry it exact already (72 of 100 against ``>= 80%`` is 9/10, never
    0.8999999999999999); a Decimal is exact too, and a float (a verdict made by hand) is read
    as the decimal it prints as. Compare it with Decimal band edges directly: a Fraction and a
    Decimal compare exactly.
    """
    exact = exact_figure(compliance)
    if not isinstance(exact, Fraction):
        raise ValueError(f"compliance {compliance!r} is not a finite number")
    return exact


# --------------------------------------------------------------------------- the schedule


@dataclass(frozen=True)
class CreditLine:
    """One step of a period's ledger: signed ``amount`` (positive: owed to the client).

    ``service_level`` is None for a step on the whole period (a cap). ``rule`` names the model
    or the common step that made the line; ``note`` says why, with the arithmetic.
    ``provisional``: the line's period was not over at the ``--as-of`` instant.
    """

    period: str
    service_level: str | None
    amount: Decimal
    currency: str
    rule: str
    note: str
    provisional: bool = False


@dataclass(frozen=True)
class PeriodCap:
    """A cap a model puts on one period's credits (the at-risk pool), applied after exclusions
    and chronic multipliers and before the contract's own caps."""

    period: str
    amount: Decimal
    rule: str
    note: str


@dataclass(frozen=True)
class Flag:
    """Something the report must show besides money: ``chronic-failure``,
    ``earn-back-pending``, ``exclusion-unused``."""

    kind: str
    service_level: str | None
    periods: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class AppliedExclusion:
    """One exclusion of the contract and the credit it waived (0: nothing was due)."""

    period: str
    service_level: str | None
    reason: str
    waived: Decimal


@dataclass
class Totals:
    """The money totals of a period or a year (see the module doc for each step)."""

    before_caps: Decimal = Decimal(0)
    capped: Decimal = Decimal(0)
    after_caps: Decimal = Decimal(0)
    earned_back: Decimal = Decimal(0)
    bonus_total: Decimal = Decimal(0)
    net: Decimal = Decimal(0)


TOTALS = ("before_caps", "capped", "after_caps", "earned_back", "bonus_total", "net")
"""The fields of :class:`Totals`."""


@dataclass
class PeriodCredits(Totals):
    """One period's ledger (``lines``), its bonuses, and its totals; ``provisional`` when the
    period was not over at the ``--as-of`` instant (its verdicts, and so its credits, may still
    change)."""

    period: str = ""
    lines: list[CreditLine] = field(default_factory=list)
    bonuses: list[CreditLine] = field(default_factory=list)
    provisional: bool = False


@dataclass
class YearTotals(Totals):
    """The periods of one contract year added up; ``year`` is its label: ``2026`` (calendar
    years, the default) or ``2026/27`` (``year_start = "04-01"``).

    ``provisional`` is the part of these totals from provisional periods (None when the year
    has none); :attr:`final` the rest, from periods that are over.
    """

    year: str = ""
    provisional: Totals | None = None

    @property
    def final(self) -> Totals:
        """The part of the year's totals from periods that were over at ``--as-of``."""
        if self.provisional is None:
            return self
        return Totals(**{name: getattr(self, name) - getattr(self.provisional, name)
                         for name in TOTALS})


@dataclass
class CreditSchedule:
    """Every period's credits, the yearly totals, the flags and the exclusions applied."""

    model: str
    currency: str
    rounding: Rounding
    periods: list[PeriodCredits]
    years: list[YearTotals]
    flags: list[Flag]
    exclusions: list[AppliedExclusion]
    year_start: str = "01-01"
    earn_back_order: str = "pro-rata"

    @property
    def credits(self) -> list[CreditLine]:
        return [line for p in self.periods for line in p.lines]

    @property
    def bonuses(self) -> list[CreditLine]:
        return [line for p in self.periods for line in p.bonuses]

    def period(self, label: str) -> PeriodCredits:
        for credits in self.periods:
            if credits.period == label:
                return credits
        raise KeyError(label)


# --------------------------------------------------------------------------- common keys


def _check_fee_share(field_name: str, value: Any, error: Any) -> None:
    try:
        found = FeeShare.parse(value)
    except ValueError as exc:
        hint = "" if isinstance(value, str) and value.endswith("%") else (
            '; or a share of the fee such as "12%"')
        error(field_name, f"{exc}{hint}")
        return
    if found.share is not None and found.share > 1:
        error(field_name, f'"{value}" is more than the whole fee; a share of the fee is at most '
                          "100%")


def _check_percent(field_name: str, value: Any, error: Any) -> None:
    try:
        share = parse_percent(value)
    except ValueError as exc:
        error(field_name, str(exc))
        return
    if share > 1:
        error(field_name, f'"{value}" is more than the whole; a share is at most 100%')


def _check_multiplier(field_name: str, value: Any, error: Any) -> None:
    try:
        if parse_amount(value) < 1:
            error(field_name, f'{value!r} is below 1; a multiplier such as "1.5" raises a credit')
    except ValueError as exc:
        error(field_name, str(exc))


def _check_within(field_name: str, value: Any, error: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        error(field_name, f'found {value!r}; expected a whole number of periods such as 6, or '
                          '"year" (the contract year so far)')
    elif isinstance(value, str) and value != YEAR_WINDOW:
        error(field_name, f'"{value}" is not accepted; expected a whole number of periods such '
                          'as 6, or "year" (the contract year so far)')
    elif isinstance(value, int) and value < 1:
        error(field_name, f"{value} is below the minimum of 1")


YEAR_WINDOW = "year"
"""``chronic.within = "year"``: failures are counted within the contract year."""


def _check_target(field_name: str, value: Any, error: Any) -> None:
    try:
        parse_target(value)
    except (TargetError, TypeError) as exc:
        error(field_name, str(exc))


def _check_amount(field_name: str, value: Any, error: Any) -> None:
    try:
        parse_amount(value)
    except ValueError as exc:
        error(field_name, str(exc))


CREDIT, CAP, BONUS_AMOUNT, MONEY = "credit", "cap", "bonus", "money"
"""What an amount of ``[penalties]`` is (its rule's ``meta = {"fee": ...}``): a credit a failure
costs, a cap, a bonus, or other money. Only a credit is compared with the fee (see
:func:`fee_problems`); every one must be payable in the currency (see :func:`money_problems`).
A rule checked with :func:`_check_amount` or :func:`_check_fee_share` but not marked counts as
``MONEY``."""

AMOUNT: dict[str, Any] = {"type": "string", "check_with": _check_amount, "meta": {"fee": CREDIT}}
"""Schema rule for a credit written as money in a string (``"500.00"``)."""

AMOUNT_OR_SHARE: dict[str, Any] = {"type": "string", "check_with": _check_fee_share,
                                   "meta": {"fee": CREDIT}}
"""Schema rule for a credit of ``"500.00"`` or ``"12%"`` (of the period's fee, at most 100%)."""

PERCENT: dict[str, Any] = {"type": "string", "check_with": _check_percent}
"""Schema rule for a share such as ``"12%"`` (at most 100%)."""


def per_status(rule: dict[str, Any]) -> dict[str, Any]:
    """Schema rule for a value given once (``"500.00"``) or per failing status
    (``{ breached = "500.00", critical = "1000.00" }``); see :func:`status_values`."""
    check = rule.get("check_with")

    def check_text(field_name: str, value: Any, error: Any) -> None:
        if check is not None and not isinstance(value, Mapping):
            check(field_name, value, error)

    kind = _money_kind(rule)
    return {"type": ["string", "dict"], "check_with": check_text,
            "schema": {"breached": rule, "critical": rule},
            "meta": {**rule.get("meta", {}), "fee": kind} if kind else rule.get("meta", {})}


def status_values(value: Any) -> dict[str, Any]:
    """``"X"`` -> ``{"breached": "X", "critical": "X"}``; a table keeps its values and its
    ``critical`` defaults to its ``breached`` (a table with only ``critical`` charges only a
    critical miss)."""
    if isinstance(value, Mapping):
        found = {k: value[k] for k in FAILED if k in value}
        if "breached" in found:
            found.setdefault("critical", found["breached"])
        return found
    return {"breached": value, "critical": value}


PENALTY_COMMON_SCHEMA: dict[str, Any] = {
    "rounding": {"type": "string", "allowed": list(ROUNDING_MODES)},
    "decimals": {"type": "integer", "min": 0, "max": 6},
    "exclusions": {
        "type": "list",
        "schema": {"type": "dict", "schema": {
            "period": {"type": "string", "required": True, "empty": False},
            "service_level": {"type": "string", "empty": False},
            "reason": {"type": "string", "required": True, "empty": False},
        }},
    },
    "earn_back_periods": {"type": "integer", "min": 1},
    "earn_back_order": {"type": "string", "allowed": list(EARN_BACK_ORDERS)},
    "chronic": {
        "type": "dict",
        "schema": {
            "breaches": {"type": "integer", "min": 1, "required": True},
            "within": {"required": True, "check_with": _check_within},
            "multiplier": {"type": "string", "check_with": _check_multiplier},
            "note": {"type": "string"},
        },
    },
    "cap_per_period": {**AMOUNT_OR_SHARE, "meta": {"fee": CAP}},
    "cap_per_year": {**AMOUNT_OR_SHARE, "meta": {"fee": CAP}},
    "bonuses": {
        "type": "list",
        "schema": {"type": "dict", "schema": {
            "service_level": {"type": "string", "required": True},
            "stretch": {"type": "string", "required": True, "check_with": _check_target},
            "amount": {**AMOUNT_OR_SHARE, "required": True, "meta": {"fee": BONUS_AMOUNT}},
            "note": {"type": "string"},
        }},
    },
}
"""Cerberus schema of the ``[penalties]`` keys every model shares (merge with the model's)."""


def penalty_schema(model: PenaltyModel | None) -> dict[str, Any]:
    """The whole schema of ``[penalties]``: ``model``, the common keys and ``model``'s keys."""
    schema = {**PENALTY_KEYS, **PENALTY_COMMON_SCHEMA}
    if model is not None:
        schema.update(model.schema)
    return schema


def fee_problems(
    options: Mapping[str, Any], model: PenaltyModel | None, monthly_fee: Decimal | None,
    period: str,
) -> list[tuple[KeyPath, str, str | None, list[str] | None]]:
    """Credits written as amounts that exceed the whole fee of their period.

    One failed service level costing more than all the client pays for the period is taken for
    a slip (a decimal point lost, a yearly figure in a monthly contract) and refused. The period's
    fee is the monthly fee × 1, 3 or 12, or × 12 ÷ 52 for a week. Caps and bonuses are not
    compared: a cap above the fee never binds, and a bonus is the vendor's. Shares of the fee
    are refused above 100% by the schema. Nothing is checked without a ``monthly_fee``.
    """
    if monthly_fee is None:
        return []
    fee = monthly_fee * 12 / 52 if period == "week" else monthly_fee * FEE_MONTHS[period]
    problems: list[tuple[KeyPath, str, str | None, list[str] | None]] = []
    for key_path, text in _marked(options, penalty_schema(model), ("penalties",), {CREDIT}):
        try:
            amount = FeeShare.parse(text).amount
        except ValueError:
            continue  # reported by the schema
        if amount is not None and amount > fee:
            whole = f"the {period}'s fee {plain(fee.quantize(Decimal('0.01')))}"
            problems.append((key_path, f'a credit of {text} is more than {whole}; one failed '
                             "service level may not cost more than the whole fee (write a "
                             'share such as "5%" or check the decimal point)', None, None))
    return problems


def money_problems(
    options: Mapping[str, Any] | None, model: PenaltyModel | None, currency: str,
    monthly_fee: object,
) -> list[tuple[KeyPath, str, str | None, list[str] | None]]:
    """Money in the contract that the currency cannot pay: finer than its minor unit.

    ``"500.005"`` in USD (paid in cents) or ``"10.5"`` in JPY (paid in whole yen) would have to
    be rounded to be paid, and rounding a contract's own figure silently changes the contract,
    so each is refused at its key. Trailing zeros are not refused (``"500.00"`` is 500 yen).
    ``[penalties] decimals`` widens the unit to its own number of decimals when it is finer
    (credits computed in hundredths of a yen): an amount may have at most max(minor unit,
    ``decimals``) decimals. Checked: ``monthly_fee`` and every amount of ``[penalties]`` whose
    schema rule is marked as money (``meta = {"fee": ...}``, as :data:`AMOUNT` and
    :data:`AMOUNT_OR_SHARE` are), the penalty model's own keys included; a share (``"12%"``)
    is not money.
    """
    options = options or {}
    minor = MINOR_UNITS.get(currency, 2)
    decimals = options.get("decimals")
    allowed = max(minor, decimals) if isinstance(decimals, int) else minor
    found: list[tuple[KeyPath, object]] = []
    if monthly_fee is not None:
        found.append((("contract", "monthly_fee"), monthly_fee))
    found.extend(_marked(options, penalty_schema(model), ("penalties",),
                         {CREDIT, CAP, BONUS_AMOUNT, MONEY}))
    problems: list[tuple[KeyPath, str, str | None, list[str] | None]] = []
    for key_path, text in found:
        try:
            amount = FeeShare.parse(text).amount
        except ValueError:
            continue  # reported by the schema
        if amount is None or amount == amount.quantize(Decimal(1).scaleb(-allowed)):
            continue
        unit = "whole " + currency if minor == 0 else (
            f"{Decimal(1).scaleb(-minor)} {currency} ({minor} decimals)")
        most = "as a whole number" if allowed == 0 else f"with at most {allowed} decimals"
        message = (f'"{text}" cannot be paid in {currency}, which is paid in {unit}; write the '
                   f"amount the contract means {most} (it is not rounded for you)")
        if allowed > minor:
            message += f"; [penalties] decimals = {allowed} allows {allowed}"
        problems.append((key_path, message, None, None))
    return problems


def _marked(value: Any, rules: Mapping[str, Any], at: tuple, kinds: Collection[str]
            ) -> Iterable[tuple[tuple, str]]:
    """(key path, text) of every string whose rule is marked ``meta = {"fee": KIND}`` with a
    kind in ``kinds`` (:data:`CREDIT`, :data:`CAP`, :data:`BONUS_AMOUNT`)."""
    if not isinstance(value, Mapping):
        return
    for key, item in value.items():
        rule = rules.get(key)
        if isinstance(rule, Mapping):
            yield from _marked_values(item, rule, (*at, key), kinds)


def _marked_values(value: Any, rule: Mapping[str, Any], at: tuple, kinds: Collection[str]
                   ) -> Iterable[tuple[tuple, str]]:
    if isinstance(value, str):
        if _money_kind(rule) in kinds:
            yield at, value
        return
    inner = rule.get("schema")
    if isinstance(value, Mapping):
        if isinstance(inner, Mapping):
            yield from _marked(value, inner, at, kinds)
        values = rule.get("valuesrules")
        if isinstance(values, Mapping):
            for key, item in value.items():
                yield from _marked_values(item, values, (*at, key), kinds)
    elif isinstance(value, list) and isinstance(inner, Mapping):
        for index, item in enumerate(value):
            yield from _marked_values(item, inner, (*at, index), kinds)


def _money_kind(rule: Mapping[str, Any]) -> str | None:
    """The money a rule describes: its ``meta`` mark, else :data:`MONEY` when it is checked as
    an amount, else None."""
    meta = rule.get("meta")
    if isinstance(meta, Mapping) and meta.get("fee") is not None:
        return str(meta["fee"])
    if rule.get("check_with") in (_check_amount, _check_fee_share):
        return MONEY
    return None


def reference_problems(
    level_ids: Collection[str], options: Mapping[str, Any], model: PenaltyModel | None = None
) -> list[tuple[KeyPath, str, str | None, list[str] | None]]:
    """Service-level names in ``[penalties]`` that the contract does not have.

    Checks ``exclusions[i].service_level``, ``bonuses[i].service_level`` and the model's
    ``level_keys`` (keys whose table keys or list items are service-level ids). Problems come in
    the ``(key path, message, suggestion, accepted)`` form of :func:`slaengine.schema.validate`.
    """
    problems: list[tuple[KeyPath, str, str | None, list[str] | None]] = []
    accepted = list(level_ids)

    def check(name: object, key_path: KeyPath) -> None:
        if isinstance(name, str) and name not in level_ids:
            problems.append((key_path, f'no service level called "{name}"',
                             did_you_mean(name, accepted), accepted))

    for key in ("exclusions", "bonuses"):
        for i, entry in enumerate(options.get(key) or []):
            if isinstance(entry, Mapping) and "service_level" in entry:
                check(entry["service_level"], ("penalties", key, i, "service_level"))
    for key in getattr(model, "level_keys", ()):
        value = options.get(key)
        if isinstance(value, Mapping):
            for name in value:
                check(name, ("penalties", key, name))
        elif isinstance(value, list):
            for i, name in enumerate(value):
                check(name, ("penalties", key, i))
    return problems


@dataclass(frozen=True)
class _Exclusion:
    period: str
    service_level: str | None
    reason: str


@dataclass(frozen=True)
class _Chronic:
    breaches: int
    within: int | None  # None: the contract year
    multiplier: Decimal
    note: str

    def window(self, failures: list[int], i: int, years: list[str]) -> list[int]:
        """The failures (period indices) that count at period ``i``: the last ``within``
        periods, or the contract year of ``i`` so far."""
        if self.within is None:
            return [j for j in failures if years[j] == years[i]]
        return [j for j in failures if j > i - self.within]

    def describe(self, year: str) -> str:
        """``"within 6 periods"`` or ``"within contract year 2026/27"``."""
        return f"within contract year {year}" if self.within is None else (
            f"within {self.within} periods")


@dataclass(frozen=True)
class _Bonus:
    index: int
    service_level: str
    stretch: Target
    amount: FeeShare
    note: str


@dataclass
class _Common:
    exclusions: list[_Exclusion]
    earn_back: int | None
    chronic: _Chronic | None
    cap_per_period: FeeShare | None
    cap_per_year: FeeShare | None
    bonuses: list[_Bonus]
    earn_back_order: str = "pro-rata"

    @classmethod
    def parse(cls, options: Mapping[str, Any], fail: Any, period: str = "month") -> _Common:
        try:
            exclusions = [_Exclusion(e["period"], e.get("service_level"), e["reason"])
                          for e in options.get("exclusions") or []]
            chronic = None
            if options.get("chronic"):
                c = options["chronic"]
                within = None if c["within"] == YEAR_WINDOW else int(c["within"])
                chronic = _Chronic(int(c["breaches"]), within,
                                   parse_amount(c.get("multiplier", "1")), c.get("note", ""))
                room = periods_per_year(period) if within is None else within
                if chronic.breaches > room:
                    where = (f"a contract year ({room} {period}s at most)" if within is None
                             else f"{within} periods")
                    fail(("penalties", "chronic", "breaches"),
                         f"{chronic.breaches} breaches cannot fit within {where}")
            bonuses = [
                _Bonus(i, b["service_level"], parse_target(b["stretch"]),
                       FeeShare.parse(b["amount"]), b.get("note", ""))
                for i, b in enumerate(options.get("bonuses") or [])
            ]
            caps = [FeeShare.parse(options[k]) if options.get(k) is not None else None
                    for k in ("cap_per_period", "cap_per_year")]
        except (KeyError, ValueError, TypeError) as exc:
            fail(("penalties",), f"cannot read the common penalty keys: {exc}")
            raise AssertionError("unreachable") from exc
        earn_back = options.get("earn_back_periods")
        order = options.get("earn_back_order", EARN_BACK_ORDERS[0])
        if order not in EARN_BACK_ORDERS:
            fail(("penalties", "earn_back_order"), f'"{order}" is not accepted',
                 did_you_mean(str(order), EARN_BACK_ORDERS), list(EARN_BACK_ORDERS))
        return cls(exclusions, int(earn_back) if earn_back else None, chronic, caps[0], caps[1],
                   bonuses, order)

    def exclusion(self, period: str, level: str | None) -> int | None:
        """The index of the first exclusion covering ``level`` in ``period``, if any."""
        for index, exclusion in enumerate(self.exclusions):
            if exclusion.period == period and exclusion.service_level in (None, level):
                return index
        return None


# --------------------------------------------------------------------------- assessing


def assess(evaluation: Evaluation, model: PenaltyModel, options: Mapping[str, Any]
           ) -> CreditSchedule:
    """The credit schedule of ``evaluation`` under ``model`` and the ``[penalties]`` table.

    ``options`` is the whole ``[penalties]`` table (``contract.penalties``): the common keys
    described in the module doc and the model's own. The model gives the base lines; this
    function rounds them and applies exclusions, chronic failure, caps, earn-back and bonuses.
    """
    contract = evaluation.contract
    currency = contract.currency
    rounding = rounding_of(options, currency)

    def fail(key_path: KeyPath, message: str, suggestion: str | None = None,
             accepted: list[str] | None = None) -> None:
        line = line_of(key_lines(contract.text), key_path) if contract.text else None
        raise ContractError(contract.path, key_path, message, line=line,
                            suggestion=suggestion, accepted=accepted)

    level_ids = [level.id for level in contract.service_levels]
    for problem in reference_problems(level_ids, options, model):
        fail(*problem)
    common = _Common.parse(options, fail, contract.period)
    fee = period_fee(contract)
    base, model_caps = _model_output(evaluation, model, options, rounding)
    found: dict[str, dict[str, LevelOutcome]] = defaultdict(dict)
    for outcome in outcomes(evaluation):
        found[outcome.period][outcome.service_level] = outcome
    labels = sorted({*found, *base})
    years = _contract_years(labels, contract)
    flags: list[Flag] = []
    applied: list[AppliedExclusion] = []
    waived: dict[int, Decimal] = defaultdict(Decimal)
    failures: dict[str, list[int]] = defaultdict(list)
    chronic_at: dict[str, list[int]] = defaultdict(list)
    chronic_failures: dict[str, set[int]] = defaultdict(set)
    returnable: dict[str, Decimal] = {}
    open_runs: list[_Run] = []
    year_used: dict[str, Decimal] = defaultdict(Decimal)
    periods: list[PeriodCredits] = []

    for i, label in enumerate(labels):
        credits = PeriodCredits(period=label)
        ledger = credits.lines
        charged: dict[str, Decimal] = {}
        for line in base.get(label, []):
            ledger.append(line)
            level = line.service_level
            index = common.exclusion(label, level)
            if index is not None:
                reason = common.exclusions[index].reason
                ledger.append(CreditLine(label, level, -line.amount, currency, EXCLUSION,
                                         f"{line.amount} not charged: {reason}"))
                waived[index] += line.amount
                continue
            if level is None:
                continue
            charged[level] = charged.get(level, Decimal(0)) + line.amount
            failures[level].append(i)
            if common.chronic is None:
                continue
            chronic = common.chronic
            window = chronic.window(failures[level], i, years)
            if len(window) < chronic.breaches:
                continue
            chronic_at[level].append(i)
            chronic_failures[level].update(window)
            if chronic.multiplier != 1:
                extra = rounding(line.amount * (chronic.multiplier - 1))
                ledger.append(CreditLine(
                    label, level, extra, currency, CHRONIC,
                    f"chronic failure: {len(window)} failures of {level} "
                    f"{chronic.describe(years[i])} ({', '.join(labels[j] for j in window)}); "
                    f"{line.amount} × {plain(chronic.multiplier)} = {line.amount + extra}, "
                    f"so {line.amount} × {plain(chronic.multiplier - 1)} = {extra} more"))
                charged[level] += extra

        total = credits.before_caps = sum((line.amount for line in ledger), Decimal(0))
        caps = [(c.amount, c.rule, c.note) for c in model_caps.get(label, [])]
        if common.cap_per_period is not None:
            limit = common.cap_per_period.of(fee)
            caps.append((limit, CAP_PER_PERIOD,
                         f"cap per period {common.cap_per_period.explain(fee)}"))
        for limit, rule, note in caps:
            limit = rounding(limit)
            if total > limit:
                ledger.append(CreditLine(label, None, limit - total, currency, rule,
                                         f"{note}: {total} capped at {limit}"))
                total = limit
        if common.cap_per_year is not None:
            year = years[i]
            limit, how = yearly_cap(common.cap_per_year, contract.monthly_fee, rounding)
            used = year_used[year]
            if used + total > limit:
                cut = min(total, used + total - limit)
                ledger.append(CreditLine(
                    label, None, -cut, currency, CAP_PER_YEAR,
                    f"cap per year {how}: {_year_name(year)} charged {used} before this "
                    f"period, {used} + {total} - {limit} = {cut} over"))
                total -= cut
            year_used[year] += total
        credits.after_caps = total
        credits.capped = credits.before_caps - total
        returnable[label] = total

        # Earn-back: runs started by earlier credits move on with this period's outcome.
        if common.earn_back:
            still_open: list[_Run] = []
            due: list[_Run] = []
            for run in open_runs:
                if common.exclusion(label, run.service_level) is not None:
                    still_open.append(run)
                    continue
                outcome = found.get(label, {}).get(run.service_level)
                if outcome is None or outcome.status != "met":
                    continue  # forfeited
                run.met.append(label)
                (due if len(run.met) >= common.earn_back else still_open).append(run)
            balance = total
            for run in due:
                wanted = run.share if common.earn_back_order == "pro-rata" else run.amount
                amount = min(wanted, returnable[run.period])
                returnable[run.period] -= amount
                if amount <= 0:
                    continue
                balance -= amount
                ledger.append(CreditLine(
                    label, run.service_level, -amount, currency, EARN_BACK,
                    _earn_back_note(run, amount, common.earn_back_order, label,
                                    rounding(balance))))
                credits.earned_back += amount
            open_runs = still_open
            shares = (_pro_rata(charged, credits.before_caps, total, rounding.quantum)
                      if common.earn_back_order == "pro-rata" else charged)
            open_runs.extend(_Run(label, level, amount, shares[level], total,
                                  credits.before_caps)
                             for level, amount in charged.items() if amount > 0)

        for bonus in common.bonuses:
            outcome = found.get(label, {}).get(bonus.service_level)
            if outcome is None or not _meets(outcome, bonus, fail):
                continue
            amount = rounding(bonus.amount.of(fee))
            shown = ", ".join(format_value(v.value, v.unit) for v in outcome.verdicts)
            how = bonus.amount.explain(fee)
            note = f"{bonus.service_level} {shown} meets the stretch target {bonus.stretch.text}"
            note += f" in {label}: bonus " + (f"{how} = {amount}" if how != str(amount) else how)
            credits.bonuses.append(CreditLine(label, bonus.service_level, amount, currency,
                                              BONUS, note + (f"; {bonus.note}" if bonus.note
                                                             else "")))
            credits.bonus_total += amount
        credits.net = credits.after_caps - credits.earned_back - credits.bonus_total
        for name in ("before_caps", "capped", "after_caps", "earned_back", "bonus_total", "net"):
            # Sums of rounded lines are exact; this only writes 0 as 0.00.
            setattr(credits, name, rounding(getattr(credits, name)))
        periods.append(credits)

    for run in open_runs:
        flags.append(Flag(
            "earn-back-pending", run.service_level, (run.period, *run.met),
            f"{run.service_level}'s credit of {run.period} ({run.amount}) is returned if its "
            f"target is met in {common.earn_back} periods in a row after it; "
            f"{len(run.met)} so far"))
    for index, exclusion in enumerate(common.exclusions):
        applied.append(AppliedExclusion(exclusion.period, exclusion.service_level,
                                        exclusion.reason, waived[index]))
        if exclusion.period not in labels:
            flags.append(Flag("exclusion-unused", exclusion.service_level, (exclusion.period,),
                              f"exclusion for {exclusion.period} ({exclusion.reason}) matches "
                              "no evaluated period"))
    if common.chronic is not None:
        for level, hits in chronic_at.items():
            involved = tuple(labels[j] for j in sorted(chronic_failures[level]))
            note = (f"{level} failed in {', '.join(involved)}: {common.chronic.breaches} or more "
                    f"failures within {common.chronic.within} periods from {labels[hits[0]]}")
            if common.chronic.note:
                note += f"; {common.chronic.note}"
            flags.append(Flag("chronic-failure", level, involved, note))

    _mark_provisional(periods, evaluation.verdicts)
    return CreditSchedule(
        model=model.name, currency=currency, rounding=rounding, periods=periods,
        years=_years(periods, years), flags=flags, exclusions=applied,
        year_start=contract.year_start.text, earn_back_order=common.earn_back_order,
    )


@dataclass
class _Run:
    """A charged credit waiting to be earned back: the periods met so far.

    ``share`` is what it returns under ``earn_back_order = "pro-rata"``: the credit's share of
    what its period ``kept`` after caps, in proportion to the period's credits (``whole``).
    """

    period: str
    service_level: str
    amount: Decimal
    share: Decimal
    kept: Decimal
    whole: Decimal
    met: list[str] = field(default_factory=list)


def _contract_years(labels: list[str], contract: Contract) -> list[str]:
    """The contract year of each period label (see :mod:`slaengine.years`)."""
    year_start = contract.year_start
    try:
        return [year_start.of_period(label, contract.period) for label in labels]
    except ValueError as exc:
        raise SlaError(f"a credit or verdict names a period that cannot be placed in a "
                       f"contract year: {exc}") from None


def _year_name(year: str) -> str:
    """``"2026"`` or ``"contract year 2026/27"``, for notes."""
    return f"contract year {year}" if "/" in year else year


def yearly_cap(cap: FeeShare, monthly_fee: Decimal | None, rounding: Rounding
               ) -> tuple[Decimal, str]:
    """The yearly cap (rounded) and how it was reached, for the note.

    A share is a share of twelve **monthly** fees whatever the period: ``"3%"`` of a quarterly,
    weekly or yearly contract with a monthly fee of 180000.00 is 3% × 12 × 180000.00 =
    64800.00, not 3% of twelve quarterly fees.
    """
    yearly = monthly_fee * 12 if monthly_fee is not None else None
    limit = rounding(cap.of(yearly, "yearly fee (12 monthly fees)"))
    if cap.share is None:
        return limit, str(limit)
    return limit, (f"{percent_text(cap.share)} of the yearly fee (12 × monthly fee {monthly_fee} "
                   f"= {yearly}) = {limit}")


def _pro_rata(credits: Mapping[str, Decimal], whole: Decimal, kept: Decimal, quantum: Decimal
              ) -> dict[str, Decimal]:
    """Each credit's share of what its period ``kept`` after caps: ``credit × kept ÷ whole``.

    ``whole`` is the period's credits before caps. Uncapped (``kept >= whole``), every credit
    is its own share. Capped, the exact shares are rounded down to ``quantum`` and the units
    left over go one each to the largest remainders (ties: contract order), so the shares add
    up exactly to what was kept (largest-remainder apportionment).
    """
    if kept >= whole or not credits:
        return dict(credits)
    unit = Fraction(quantum)
    exact = {k: Fraction(v) * Fraction(kept) / Fraction(whole) / unit for k, v in credits.items()}
    floors = {k: math.floor(x) for k, x in exact.items()}
    left = math.floor(sum(exact.values())) - sum(floors.values())
    for k in sorted(exact, key=lambda k: exact[k] - floors[k], reverse=True)[:left]:
        floors[k] += 1
    return {k: Decimal(n) * quantum for k, n in floors.items()}


def _earn_back_note(run: _Run, amount: Decimal, order: str, label: str, balance: Decimal
                    ) -> str:
    """Why a credit is returned and what share of it, with the arithmetic."""
    note = (f"earned back: {run.service_level}'s credit of {run.period} ({run.amount}) is "
            f"returned, the target being met in {', '.join(run.met)}; ")
    if run.kept >= run.whole:
        note += f"share: all of it ({run.period} was not capped)"
    elif order == "pro-rata":
        exact = run.amount * run.kept / run.whole
        note += (f"share pro rata: {run.period} kept {run.kept} of its {run.whole} of credits "
                 f"after caps, so {run.amount} × {run.kept} ÷ {run.whole} = {amount}")
        if exact != amount:
            note += f" (rounded so that {run.period}'s shares add up to {run.kept})"
    elif amount == run.amount:
        note += (f"share in contract order: all of it, from what {run.period} kept after caps "
                 f"({run.kept})")
    else:
        note += (f"share in contract order: limited to the {amount} left of {run.period}'s "
                 f"credits after caps ({run.kept}; earlier earn-backs of {run.period} took "
                 f"{run.kept - amount})")
    if balance < 0:
        note += (f"; {label}'s credits stand at {balance} after it: below zero only because "
                 f"this returns credit charged in {run.period}")
    return note


def _model_output(
    evaluation: Evaluation, model: PenaltyModel, options: Mapping[str, Any], rounding: Rounding
) -> tuple[dict[str, list[CreditLine]], dict[str, list[PeriodCap]]]:
    """The model's base lines (rounded, by period) and caps; anything else is a plugin bug."""
    lines: dict[str, list[CreditLine]] = defaultdict(list)
    caps: dict[str, list[PeriodCap]] = defaultdict(list)
    currency = evaluation.contract.currency
    try:
        produced = model.assess(evaluation, options)
    except SlaError:
        raise
    except Exception as exc:
        raise PluginError(f'penalty model "{model.name}" failed in assess: '
                          f"{type(exc).__name__}: {exc}") from exc
    for item in produced:
        if isinstance(item, CreditLine):
            if not isinstance(item.amount, Decimal) or item.amount < 0:
                raise PluginError(f'penalty model "{model.name}" gave {item.amount!r} for '
                                  f"{item.service_level} in {item.period}; a credit is a Decimal "
                                  ">= 0")
            lines[item.period].append(replace(item, amount=rounding(item.amount),
                                              currency=currency))
        elif isinstance(item, PeriodCap):
            caps[item.period].append(item)
        else:
            raise PluginError(f'penalty model "{model.name}" returned {item!r}; expected '
                              "CreditLine or PeriodCap objects")
    return lines, caps


_NUMBER_UNITS = {"score", "points", "count"}


def _meets(outcome: LevelOutcome, bonus: _Bonus, fail: Any) -> bool:
    """Whether every verdict of ``outcome`` meets the bonus's stretch target."""
    key_path = ("penalties", "bonuses", bonus.index, "stretch")
    stretch = bonus.stretch
    for verdict in outcome.verdicts:
        statistic = stretch.statistic or verdict.statistic
        unit = "number" if verdict.unit in _NUMBER_UNITS else verdict.unit
        if statistic != verdict.statistic or stretch.unit != unit:
            fail(key_path, f'"{stretch.text}" cannot be read off {verdict.service_level}, whose '
                 f"verdicts are the {verdict.statistic} in {verdict.unit}; write the stretch "
                 f'like its target "{verdict.target}"')
        if stretch.within is not None:
            target = parse_target(verdict.target)
            if target.within != stretch.within:
                fail(key_path, f'"{stretch.text}" needs a different time limit than the target '
                     f'"{verdict.target}"; only the share may differ')
        if verdict.status == "insufficient_data" or verdict.value is None:
            return False
        counts = {} if verdict.hits is None else {"hits": verdict.hits, "n": verdict.sample_size}
        if not stretch.holds(verdict.value, **counts):
            return False
    return True


def _mark_provisional(periods: list[PeriodCredits], verdicts: Iterable[Verdict]) -> None:
    """Mark provisional the periods not over at the ``--as-of`` instant, with every line and
    bonus of them: the first period with a provisional verdict and every later one.

    Only these periods' own amounts are marked: an earlier period's credits were settled before
    them (caps, chronic failure and earn-back look back, never ahead), so they are final.
    """
    running = min((v.period for v in verdicts if v.provisional), default=None)
    if running is None:
        return
    for credits in periods:
        if credits.period >= running:
            credits.provisional = True
            credits.lines[:] = [replace(line, provisional=True) for line in credits.lines]
            credits.bonuses[:] = [replace(line, provisional=True) for line in credits.bonuses]


def _years(periods: Iterable[PeriodCredits], labels: Iterable[str]) -> list[YearTotals]:
    """The periods added up by contract year (``labels``: each period's contract year)."""
    years: dict[str, YearTotals] = {}
    for p, label in zip(periods, labels, strict=True):
        year = years.setdefault(label, YearTotals(year=label))
        year.before_caps += p.before_caps
        year.capped += p.capped
        year.after_caps += p.after_caps
        year.earned_back += p.earned_back
        year.bonus_total += p.bonus_total
        year.net += p.net
        if p.provisional:
            year.provisional = year.provisional or Totals()
            for name in TOTALS:
                setattr(year.provisional, name, getattr(year.provisional, name) +
                        getattr(p, name))
    return list(years.values())


# --------------------------------------------------------------------------- output


def _line(line: CreditLine) -> dict[str, Any]:
    return {"period": line.period, "service_level": line.service_level,
            "amount": str(line.amount), "currency": line.currency, "rule": line.rule,
            "note": line.note, **({"provisional": True} if line.provisional else {})}


def _totals(t: Totals) -> dict[str, str]:
    return {"before_caps": str(t.before_caps), "capped": str(t.capped),
            "after_caps": str(t.after_caps), "earned_back": str(t.earned_back),
            "bonuses": str(t.bonus_total), "net": str(t.net)}


def schedule_to_dict(schedule: CreditSchedule) -> dict[str, Any]:
    """The JSON shape of a schedule, to merge into the evaluation's document. Money is strings.

    ``credits``: every ledger line in order (signed; their sum per period is ``after_caps -
    earned_back``); ``bonuses``: the bonus lines (same shape); ``credit_totals``: per period;
    ``credit_years``: per contract year (``"year": "2026"``, or ``"2026/27"`` when contract
    years start on ``year_start`` other than ``"01-01"``); ``flags``; ``credit_exclusions``.

    With ``--as-of``, each line, bonus, period total and flag of a period not yet over carries
    ``"provisional": true``, and a year holding such periods carries its ``final`` and
    ``provisional`` parts (each with the six totals; they add up to the year's).
    """
    open_periods = {p.period for p in schedule.periods if p.provisional}
    return {
        "penalties": {"model": schedule.model, "currency": schedule.currency,
                      "rounding": schedule.rounding.describe(),
                      "year_start": schedule.year_start,
                      "earn_back_order": schedule.earn_back_order},
        "credits": [_line(line) for line in schedule.credits],
        "bonuses": [_line(line) for line in schedule.bonuses],
        "credit_totals": [{"period": p.period, **_totals(p),
                           **({"provisional": True} if p.provisional else {})}
                          for p in schedule.periods],
        "credit_years": [{"year": y.year, **_totals(y),
                          **({"final": _totals(y.final), "provisional": _totals(y.provisional)}
                             if y.provisional is not None else {})}
                         for y in schedule.years],
        "flags": [{"kind": f.kind, "service_level": f.service_level, "periods": list(f.periods),
                   "note": f.note,
                   **({"provisional": True} if open_periods.intersection(f.periods) else {})}
                  for f in schedule.flags],
        "credit_exclusions": [{"period": e.period, "service_level": e.service_level,
                               "reason": e.reason, "waived": str(e.waived)}
                              for e in schedule.exclusions],
    }


PROVISIONAL = "(provisional: the period was not over at --as-of)"
"""How the text schedule marks a provisional period, its totals and its flags."""


def _year_text(t: Totals) -> str:
    return (f"after caps {t.after_caps}, earned back {t.earned_back}, bonuses {t.bonus_total}, "
            f"net {t.net}")


def format_schedule(schedule: CreditSchedule) -> str:
    """The schedule as plain text, line by line, for a terminal or a text report."""
    years = "" if schedule.year_start == "01-01" else (
        f", contract years from {schedule.year_start}")
    out = [f"Service credits ({schedule.model}, {schedule.currency}, rounding "
           f"{schedule.rounding.describe()}{years})"]
    open_periods = {p.period for p in schedule.periods if p.provisional}
    for p in schedule.periods:
        label = f"{p.period} {PROVISIONAL}" if p.provisional else p.period
        if not (p.lines or p.bonuses):
            out.append(f"{label}: no credits")
            continue
        out.append(f"{label}:")
        for line in [*p.lines, *p.bonuses]:
            out.append(f"  {line.amount:>12} {line.rule:<14} {line.service_level or '(period)'}"
                       f": {line.note}")
        out.append(f"  before caps {p.before_caps}, capped {p.capped}, after caps "
                   f"{p.after_caps}, earned back {p.earned_back}, bonuses {p.bonus_total}, "
                   f"net {p.net}" + (f" {PROVISIONAL}" if p.provisional else ""))
    for y in schedule.years:
        out.append(f"{y.year}: {_year_text(y)}")
        if y.provisional is not None:
            out.append(f"  of which final: {_year_text(y.final)}")
            out.append(f"  of which provisional: {_year_text(y.provisional)}")
    out.extend(f"! {f.kind}: {f.note}" + (f" {PROVISIONAL}" if open_periods.intersection(
        f.periods) else "") for f in schedule.flags)
    out.extend(f"excluded {e.period} {e.service_level or '(every service level)'}: {e.reason}"
               f" (waived {e.waived})" for e in schedule.exclusions)
    return "\n".join(out)
