"""The ``[penalties]`` keys every model shares, the schema rules for money and shares, and
the checks of money against the currency, the fee and the service levels."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from slaengine.credits.money import (
    FEE_MONTHS,
    MINOR_UNITS,
    ROUNDING_MODES,
    FeeShare,
    parse_percent,
    plain,
)
from slaengine.errors import KeyPath, did_you_mean
from slaengine.money import parse_amount
from slaengine.schema import PENALTY_KEYS
from slaengine.targets import TargetError, parse_target

if TYPE_CHECKING:
    from slaengine.plugin import PenaltyModel

FAILED = ("breached", "critical")
"""The statuses that can cost a credit (a value per status is given for these)."""

EARN_BACK_ORDERS = ("pro-rata", "contract-order")
"""``earn_back_order``: how earn-backs share what a capped period kept (see
:mod:`slaengine.credits.schedule`)."""


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


