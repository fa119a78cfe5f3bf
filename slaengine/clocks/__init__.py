"""Event clocks: SLA timers computed from a ticket's history of events.

Input is a table of events, one row per change: ``ticket_id``, ``at`` (an instant), ``event``
(``created``, ``status``, ``comment``, ``priority``, ``group``, ``assignee``), ``status`` (for a
status event, the status after it: ``new``, ``open``, ``pending``, ``hold``, ``solved``,
``closed``), ``author`` (for a comment: ``requester``, ``agent`` or ``system``) and ``public``
(for a comment: whether the customer sees it). The rows' order is the file order.

The history of a ticket
-----------------------
* A ticket is **created** at its earliest ``created`` event or, without one, at its earliest
  event. An event recorded before the creation is taken at the creation instant. Further
  ``created`` events change nothing. A ticket is **outbound** when that ``created`` event's
  author is an agent or the system.
* Before its first status event a ticket is ``new``. *Solved* means ``solved`` or ``closed``.
  A **solve** is a status event that takes an unsolved ticket to solved or closed; closing an
  already solved ticket is not a new solve. A **reopen** takes a solved ticket back to ``new``,
  ``open``, ``pending`` or ``hold``.
* A **requester message** is a public comment by the requester; an **answer** is a public
  comment by an agent. Private comments and system comments are neither.
* **Simultaneous events** (same ticket, same instant) are taken in this order: the creation;
  status changes that stop (to solved/closed); status changes that pause (to pending/hold);
  status changes that start (to new/open); then comments and all other events. Events of the
  same kind keep their file order. So a comment made in the same second as a status change is
  read *after* it: a requester message in the second of a solve comes after the solve (and
  opens a new reply instance); an answer in the second of a solve answers nothing more and
  opens no update interval.

The clocks
----------
Each clock counts time only while it runs, and only the business time of the calendar it is
measured with (every second for 24x7). A record still running at the end of the data is
*unmeasured*: ``running`` is true, ``ended_at`` is empty and ``seconds`` is the time counted up
to the end of the data (or ``as_of``).

Under a service level with a per-record limit (``within``, or the threshold of a duration
target such as ``p90 <= 8h``), a running record whose seconds so far already exceed the limit
is a miss whatever happens next (its time can only grow): it counts as measured, with those
seconds, and missed. A running record not yet past the limit stays unmeasured. The Zendesk
reconciliation breaches a record by the same rule (:func:`slaengine.clocks.zendesk.past_limit`),
so the level's misses and the contract's breaches agree.

* ``reply_time``: one record per reply instance, id ``TICKET#N``. Instance 1 starts at the
  creation, or for an outbound ticket at the first requester message. A later instance starts at
  the first requester message after the previous instance ended (the oldest message not yet
  answered). An instance ends at the next answer, or at the next solve if that comes first
  (fulfilled). It never pauses. A requester message on a solved ticket starts an instance.
* ``next_reply_time``: the records of ``reply_time`` with instance 2 or later.
* ``requester_wait_time``: one record per ticket (id: the ticket id) from its creation to its
  last solve. It runs while the ticket is ``new``, ``open`` or ``hold`` and is paused while
  ``pending`` and while solved before a reopen: a reopened ticket continues the same clock.
* ``agent_work_time``: the same, running only while ``new`` or ``open``.
* ``periodic_update_time``: one record per update interval, id ``TICKET#N``. An interval starts
  at the creation, at every answer on an unsolved ticket, and at every reopen; it ends at the
  next answer or solve. The interval running at a solve ends at the solve and is a record.
  Never paused.
* ``pausable_update_time``: the same intervals, paused while the ticket is ``pending``.
* ``total_resolution_time``: one record per ticket from its creation to its last solve,
  never paused (the time solved before a reopen counts too).

The intervals table lists every record's spans in order: start, end, ``running`` or ``paused``,
the event that began the span and its row, and the business seconds it counted (0 when
paused). A record's seconds are the sum of its spans' seconds.

Everything is computed over whole arrays (one sort of all events, then cumulative operations);
the whole events table is held in memory.
"""

from slaengine.clocks.builtin import CLOCKS, measure
from slaengine.clocks.history import AUTHORS, EVENTS, STATUSES, History, read_history
from slaengine.clocks.spans import ClockTables, interval_schema, record_schema

__all__ = [
    "AUTHORS",
    "CLOCKS",
    "EVENTS",
    "STATUSES",
    "ClockTables",
    "History",
    "interval_schema",
    "measure",
    "read_history",
    "record_schema",
]
