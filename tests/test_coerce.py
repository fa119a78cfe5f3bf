"""coerce(): raw columns (text or typed) -> canonical records and rejects with reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from slaengine.coerce import coerce
from slaengine.errors import DataError
from slaengine.fields import CATEGORY, COUNT, SCORE, TEXT, TICKETS, TIMESTAMP
from slaengine.plugin import REJECT_SCHEMA

NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def run(
    data: dict[str, list], columns: dict[str, str] | None = None, timezone: str = NY
) -> tuple[pa.Table, pa.Table]:
    raw = pa.table(data)
    if columns is None:
        columns = {name: name for name in data}
    rows = pa.array(range(2, 2 + raw.num_rows), pa.int64())
    return coerce(raw, kind=TICKETS, columns=columns, timezone=timezone, rows=rows, source="t")


def reject_rows(rejected: pa.Table) -> list[tuple]:
    return [(r["row"], r["field"], r["value"], r["reason"]) for r in rejected.to_pylist()]


# --------------------------------------------------------------------------- timestamps


def test_offsets_are_exact_and_naive_times_follow_dst() -> None:
    records, rejected = run(
        {
            "ticket_id": ["a", "b", "c", "d", "e", "f", "g"],
            "created_at": [
                "2026-03-01 09:00",  # EST, UTC-5 -> 14:00Z
                "2026-07-01T09:00:00",  # EDT, UTC-4 -> 13:00Z
                "2026-07-01T09:00:00Z",
                "2026-07-01T09:00:00+02:00",  # -> 07:00Z
                "2026-07-01T09:00:00-0130",  # -> 10:30Z
                "2026-07-01",  # local midnight, EDT -> 04:00Z
                "2026-07-01T09:00:00.1234567Z",  # fraction truncated to microseconds
            ],
        }
    )
    assert rejected.num_rows == 0
    assert records.schema == pa.schema([("ticket_id", TEXT), ("created_at", TIMESTAMP)])
    assert records.column("created_at").to_pylist() == [
        utc(2026, 3, 1, 14),
        utc(2026, 7, 1, 13),
        utc(2026, 7, 1, 9),
        utc(2026, 7, 1, 7),
        utc(2026, 7, 1, 10, 30),
        utc(2026, 7, 1, 4),
        utc(2026, 7, 1, 9, 0, 0, 123456),
    ]


def test_dst_gap_and_overlap_take_the_earliest_instant() -> None:
    records, _ = run(
        {
            "ticket_id": ["gap", "overlap"],
            # 02:30 does not exist on 2026-03-08 in New York; 01:30 happens twice on 11-01.
            "created_at": ["2026-03-08T02:30:00", "2026-11-01T01:30:00"],
        }
    )
    assert records.column("created_at").to_pylist() == [
        utc(2026, 3, 8, 6, 59, 59, 999999),
        utc(2026, 11, 1, 5, 30),
    ]


def test_invalid_timestamps_are_rejected_with_the_value_and_the_row() -> None:
    records, rejected = run(
        {
            "ticket_id": ["a", "b", "c", "d", "e", "f"],
            "created_at": [
                "yesterday",
                "2026-02-30T10:00:00Z",
                "2026-03-01T25:00",
                "25:00",
                "2026-03-01T10:00:00",
                "01/03/2026",
            ],
        }
    )
    assert records.column("ticket_id").to_pylist() == ["e"]
    assert rejected.schema == REJECT_SCHEMA
    assert reject_rows(rejected) == [
        (2, "created_at", "yesterday", "created_at: 'yesterday' is not an ISO 8601 timestamp"),
        (
            3,
            "created_at",
            "2026-02-30T10:00:00Z",
            "created_at: '2026-02-30T10:00:00Z' is not an ISO 8601 timestamp",
        ),
        (
            4,
            "created_at",
            "2026-03-01T25:00",
            "created_at: '2026-03-01T25:00' is not an ISO 8601 timestamp",
        ),
        (5, "created_at", "25:00", "created_at: '25:00' is not an ISO 8601 timestamp"),
        (7, "created_at", "01/03/2026", "created_at: '01/03/2026' is not an ISO 8601 timestamp"),
    ]
    assert set(rejected.column("source").to_pylist()) == {"t"}


def test_many_copies_of_one_bad_date_are_all_rejected() -> None:
    # 1000 rows, every third one an impossible date that passes the shape check.
    n = 1000
    created = ["2026-04-31T08:00:00" if i % 3 == 0 else "2026-04-30T08:00:00" for i in range(n)]
    records, rejected = run({"ticket_id": [str(i) for i in range(n)], "created_at": created})
    assert rejected.num_rows == 334  # i = 0, 3, ..., 999
    assert records.num_rows == 666
    assert rejected.column("row").to_pylist() == list(range(2, 2 + n, 3))


# --------------------------------------------------------------------------- required, blanks


def test_blank_optional_fields_are_null_and_blank_required_fields_reject() -> None:
    records, rejected = run(
        {
            "ticket_id": [" T1 ", "T2", "   ", "T4"],
            "created_at": ["2026-03-01T10:00Z", "2026-03-01T10:00Z", "2026-03-01T10:00Z", ""],
            "first_response_at": ["", "2026-03-01T11:00Z", "", " "],
            "priority": [" high ", "", "low", "low"],
        }
    )
    assert records.to_pylist() == [
        {
            "ticket_id": "T1",
            "created_at": utc(2026, 3, 1, 10),
            "first_response_at": None,
            "priority": "high",
        },
        {
            "ticket_id": "T2",
            "created_at": utc(2026, 3, 1, 10),
            "first_response_at": utc(2026, 3, 1, 11),
            "priority": None,
        },
    ]
    assert records.schema.field("priority").type == CATEGORY
    assert reject_rows(rejected) == [
        (4, "ticket_id", None, "ticket_id: missing"),
        (5, "created_at", None, "created_at: missing"),
    ]


# --------------------------------------------------------------------------- numbers, bounds


def test_numbers_are_parsed_strictly() -> None:
    records, rejected = run(
        {
            "ticket_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
            "created_at": ["2026-03-01"] * 8,
            "contacts": ["1", "+2", "3.0", "1e1", "2.5", "abc", "0x10", ""],
            "handle_seconds": ["90", "1.5", "", "2e2", "0", "1", "inf", "nan"],
        }
    )
    assert records.column("contacts").to_pylist() == [1, 2, 3, 10]
    assert records.column("handle_seconds").to_pylist() == [90.0, 1.5, None, 200.0]
    assert records.schema.field("contacts").type == COUNT
    assert reject_rows(rejected) == [
        (6, "contacts", "2.5", "contacts: '2.5' is not a whole number"),
        (7, "contacts", "abc", "contacts: 'abc' is not a number"),
        (
            8,
            "contacts",
            "0x10",
            "contacts: '0x10' is not a number; handle_seconds: 'inf' is not a number",
        ),
        (9, "handle_seconds", "nan", "handle_seconds: 'nan' is not a number"),
    ]


def test_values_outside_bounds_are_rejected() -> None:
    records, rejected = run(
        {
            "ticket_id": ["a", "b", "c", "d", "e", "f"],
            "created_at": ["2026-03-01"] * 6,
            "csat": ["1", "5", "7", "0", "4.5", ""],
            "nps": ["0", "10", "10", "10", "11", ""],
            "reopens": ["0", "0", "0", "-1", "0", ""],
        }
    )
    assert records.column("ticket_id").to_pylist() == ["a", "b", "f"]
    assert records.column("csat").to_pylist() == [1.0, 5.0, None]
    assert reject_rows(rejected) == [
        (4, "csat", "7", "csat: 7 is outside 1-5"),
        (5, "csat", "0", "csat: 0 is outside 1-5; reopens: -1 is below 0"),
        (6, "nps", "11", "nps: 11 is outside 0-10"),
    ]


def test_order_constraints_only_when_both_fields_are_present() -> None:
    created = ["2026-03-01T10:00Z"] * 4
    first = ["2026-03-01T10:00Z", "2026-03-01T09:59Z", "", "2026-03-01T11:00Z"]
    records, rejected = run(
        {
            "ticket_id": ["a", "b", "c", "d"],
            "created_at": created,
            "first_response_at": first,
            "resolved_at": ["2026-03-01T12:00Z", "", "2026-03-01T09:00Z", ""],
        }
    )
    assert records.column("ticket_id").to_pylist() == ["a", "d"]
    assert reject_rows(rejected) == [
        (3, "first_response_at", "2026-03-01T09:59Z", "first_response_at: before created_at"),
        (4, "resolved_at", "2026-03-01T09:00Z", "resolved_at: before created_at"),
    ]
    # Without created_at requested there is nothing to compare with.
    records, rejected = run(
        {"ticket_id": ["x"], "first_response_at": ["2000-01-01T00:00Z"]}, timezone="UTC"
    )
    assert records.num_rows == 1
    assert rejected.num_rows == 0


def test_several_problems_make_one_reject_with_every_reason() -> None:
    _, rejected = run(
        {
            "ticket_id": [""],
            "created_at": ["soon"],
            "csat": ["9"],
            "contacts": ["x"],
        }
    )
    assert reject_rows(rejected) == [
        (
            2,
            "ticket_id",
            None,
            "ticket_id: missing; created_at: 'soon' is not an ISO 8601 timestamp; "
            "csat: 9 is outside 1-5; contacts: 'x' is not a number",
        )
    ]


def test_read_equals_accepted_plus_rejected_and_columns_follow_the_mapping() -> None:
    raw = pa.table(
        {
            "Created": ["2026-03-01", "nope", "2026-03-02", "2026-03-03", ""],
            "Ticket ID": ["1", "2", "3", "", "5"],
            "CSAT": ["5", "4", "6", "3", "2"],
            "Ignored": ["x"] * 5,
        }
    )
    columns = {"ticket_id": "Ticket ID", "created_at": "Created", "csat": "CSAT"}
    records, rejected = coerce(
        raw, kind=TICKETS, columns=columns, timezone="UTC", rows=[10, 11, 12, 13, 14], source="s"
    )
    assert records.column_names == ["ticket_id", "created_at", "csat"]
    assert records.num_rows == 1
    assert rejected.num_rows == 4
    assert records.num_rows + rejected.num_rows == raw.num_rows
    assert rejected.column("row").to_pylist() == [11, 12, 13, 14]
    assert rejected.column("field").to_pylist() == ["created_at", "csat", "ticket_id", "created_at"]


def test_one_raw_column_may_feed_two_fields() -> None:
    records, _ = run(
        {"ticket_id": ["a"], "when": ["2026-03-01T10:00Z"]},
        columns={"ticket_id": "ticket_id", "created_at": "when", "updated_at": "when"},
    )
    assert records.column("created_at").to_pylist() == records.column("updated_at").to_pylist()


# --------------------------------------------------------------------------- typed input


def test_typed_timestamps_naive_and_aware() -> None:
    naive = pa.array([datetime(2026, 3, 1, 9), datetime(2026, 7, 1, 9), None], pa.timestamp("s"))
    aware = pa.array([1_782_900_000_123_456_789, 0, None], pa.timestamp("ns", tz="Europe/Paris"))
    raw = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "c": naive, "r": aware})
    records, rejected = coerce(
        raw,
        kind=TICKETS,
        columns={"ticket_id": "id", "created_at": "c", "resolved_at": "r"},
        timezone=NY,
        rows=pa.array([0, 1, 2]),
        source="arrow",
    )
    assert records.schema == TICKETS.schema(["ticket_id", "created_at", "resolved_at"])
    assert records.column("ticket_id").to_pylist() == ["1"]
    assert records.column("created_at").to_pylist() == [utc(2026, 3, 1, 14)]
    # 1_782_900_000 s after the epoch is 2026-07-01T10:00:00Z; nanoseconds are truncated.
    # The second row's resolved_at (1970) is before its created_at.
    assert records.column("resolved_at").to_pylist() == [utc(2026, 7, 1, 10, 0, 0, 123456)]
    assert reject_rows(rejected) == [
        (1, "resolved_at", "1970-01-01 01:00:00.000000000+0100", "resolved_at: before created_at"),
        (2, "created_at", None, "created_at: missing"),
    ]


def test_typed_numbers() -> None:
    raw = pa.table(
        {
            "ticket_id": ["a", "b", "c", "d"],
            "created_at": pa.array([0, 0, 0, 0], pa.timestamp("us", tz="UTC")),
            "contacts": pa.array([1, 2, 3, 4], pa.int32()),
            "reopens": pa.array([0.0, float("nan"), 1.5, 2.0], pa.float64()),
            "csat": pa.array([5, 4, 3, 9], pa.int8()),
        }
    )
    records, rejected = coerce(
        raw,
        kind=TICKETS,
        columns={n: n for n in raw.column_names},
        timezone="UTC",
        rows=pa.array([0, 1, 2, 3]),
        source="arrow",
    )
    assert records.column("contacts").type == COUNT
    assert records.column("csat").type == SCORE
    assert records.column("contacts").to_pylist() == [1]
    assert records.column("reopens").to_pylist() == [0]
    assert reject_rows(rejected) == [
        (1, "reopens", "nan", "reopens: 'nan' is not a number"),  # as the text "nan" is
        (2, "reopens", "1.5", "reopens: '1.5' is not a whole number"),
        (3, "csat", "9", "csat: 9 is outside 1-5"),
    ]


def test_typed_column_of_the_wrong_kind_is_a_data_error() -> None:
    raw = pa.table({"id": ["a"], "c": pa.array([[1]], pa.list_(pa.int64()))})
    with pytest.raises(DataError, match=r"column 'c' holds list<item: int64> values"):
        coerce(
            raw,
            kind=TICKETS,
            columns={"ticket_id": "id", "created_at": "c"},
            timezone="UTC",
            rows=[0],
            source="arrow",
        )


def test_missing_raw_column_is_a_data_error() -> None:
    raw = pa.table({"id": ["a"], "Created": ["2026-03-01"]})
    with pytest.raises(DataError, match='did you mean "Created"'):
        coerce(
            raw,
            kind=TICKETS,
            columns={"ticket_id": "id", "created_at": "created"},
            timezone="UTC",
            rows=[0],
            source="arrow",
        )


def test_empty_input() -> None:
    records, rejected = run({"ticket_id": pa.array([], pa.string()), "created_at": []})
    assert records.num_rows == 0
    assert records.schema == TICKETS.schema(["ticket_id", "created_at"])
    assert rejected.num_rows == 0


def test_expects_names_what_a_field_takes() -> None:
    from slaengine.coerce import expects
    from slaengine.fields import TIMESTAMP

    assert expects(TIMESTAMP, pa.large_string()) is None
    assert expects(TIMESTAMP, pa.date32()) is None
    assert expects(COUNT, pa.dictionary(pa.int8(), pa.int64())) is None
    assert expects(COUNT, pa.decimal128(5, 2)) is None
    assert expects(COUNT, pa.binary()) is None  # read as text, then parsed
    assert "numbers" in (expects(COUNT, pa.struct([("x", pa.int64())])) or "")
    assert "timestamps" in (expects(TIMESTAMP, pa.float64()) or "")
    assert "text" in (expects(pa.string(), pa.list_(pa.string())) or "")


def test_typed_and_text_values_past_their_range_get_one_reason() -> None:
    # contacts: int64 fits, 2**64-1 (uint64) does not; as text the same digits
    typed = pa.table({"ticket_id": ["a", "b"], "created_at": ["2026-01-01", "2026-01-01"],
                      "contacts": pa.array([1, 2**64 - 1], pa.uint64())})
    text = typed.set_column(2, "contacts", pa.array(["1", str(2**64 - 1)]))
    for raw in (typed, text):
        records, rejected = coerce(raw, kind=TICKETS, columns={n: n for n in raw.column_names},
                                   timezone="UTC", rows=pa.array([1, 2]), source="s")
        assert records["contacts"].to_pylist() == [1]
        assert rejected["reason"].to_pylist() == [
            "contacts: '18446744073709551615' is out of range"]


def _with_garbage_in_null_slots(values: list[int], valid: list[bool], type_: pa.DataType,
                                width: str) -> pa.Array:
    """An array whose null slots hold ``values`` too, as a writer may leave them."""
    import numpy as np

    bits = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    data = pa.py_buffer(np.array(values, dtype=width).tobytes())
    return pa.Array.from_buffers(type_, len(values), [bits, data],
                                 null_count=valid.count(False))


def test_typed_bounds_and_times_never_read_a_null_slot() -> None:
    # csat (1-5) as int8: row 1's null slot holds 0 and row 3's 99, both out of bounds if read;
    # row 2's 7 is a real value outside. created_at in ms since the epoch, UTC; row 1's null
    # slot holds a value past the year 9999 (it would overflow microseconds if read).
    csat = _with_garbage_in_null_slots([5, 0, 7, 99], [True, False, True, False], pa.int8(),
                                       "int8")
    day = 1_772_323_200_000  # 2026-03-01T00:00:00Z in ms
    created = _with_garbage_in_null_slots([day, 2**62, day + 1, day + 2_000],
                                          [True, False, True, True],
                                          pa.timestamp("ms", tz="UTC"), "int64")
    raw = pa.table({"ticket_id": ["a", "b", "c", "d"], "created_at": created, "csat": csat})
    records, rejected = coerce(raw, kind=TICKETS, columns={n: n for n in raw.column_names},
                               timezone="UTC", rows=pa.array([1, 2, 3, 4]), source="arrow")
    assert records["ticket_id"].to_pylist() == ["a", "d"]
    assert records["csat"].to_pylist() == [5.0, None]
    assert records["created_at"].to_pylist() == [utc(2026, 3, 1), utc(2026, 3, 1, 0, 0, 2)]
    assert reject_rows(rejected) == [
        (2, "created_at", None, "created_at: missing"),
        (3, "csat", "7", "csat: 7 is outside 1-5"),
    ]


def test_typed_times_in_seconds_and_past_the_range() -> None:
    # 1_772_323_200 s is 2026-03-01T00:00:00Z; 2**50 s is far past the year 9999
    created = pa.array([1_772_323_200, 2**50, None], pa.timestamp("s", tz="UTC"))
    raw = pa.table({"ticket_id": ["a", "b", "c"], "created_at": created})
    records, rejected = coerce(raw, kind=TICKETS, columns={n: n for n in raw.column_names},
                               timezone="UTC", rows=pa.array([1, 2, 3]), source="arrow")
    assert records["created_at"].to_pylist() == [utc(2026, 3, 1)]
    assert [r["field"] for r in rejected.to_pylist()] == ["created_at", "created_at"]
    assert "out of range" in rejected["reason"][0].as_py()
