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

Custom clocks
-------------
A contract declares its own clocks in ``[clocks.NAME]`` (:mod:`slaengine.clocks.custom`), in the
manner of Jira Service Management's start/pause/stop conditions and ServiceNow's SLA
definitions (start, pause, stop, reset, cancel; retroactive start).

A **condition** is a table, or a list of tables any of which matches. A table matches an event
when every key it names holds (at least one key; a combination no event can satisfy is refused):

* ``event``: one of the kinds or a list of them; ``created`` is the ticket's creation (its
  earliest ``created`` event, or its first event), never a later ``created`` event;
* ``status``: one status or a list: the event makes the ticket **enter** one of them (its status
  after the event is listed and before it was not; the creation enters ``new``). A change
  between two listed statuses (``solved`` to ``closed``) is no entry;
* ``author``: a comment's author; the creation's author is its ``created`` event's, the
  requester when that names none (the rule that makes a ticket outbound);
* ``public``: a comment is public (true) or private (false).

A **cycle** is one run of the clock from a start to its end. At each event of a ticket, in the
order above (simultaneous events included), in three steps:

1. **End.** If a cycle runs and the event matches ``cancel``, ``stop`` or ``reset``, the cycle
   ends there: *cancelled* (discarded), else *stopped* (a record, measured), else *reset*
   (discarded). Cancel wins over stop, stop over reset.
2. **Start.** If no cycle runs now, a new one starts at the event when it matches ``start``, or
   when it is the ``reset`` that ended the cycle in step 1. An event matching ``start`` while a
   cycle runs (and does not end) changes nothing: the cycle measures from the oldest start.
3. **Pause.** ``pause`` names a *state* when it lists only statuses (every table only
   ``status``) and no ``resume`` is given: the clock is paused while the ticket's status is one
   of them, whatever event brought it there. Otherwise ``pause`` and ``resume`` are events that
   toggle the running cycle: after an event matching ``pause`` it is paused, after one matching
   ``resume`` it runs again (an event matching both resumes). Every cycle starts running (unless
   its start event itself pauses it, or the state pauses it); toggles before its start do not
   reach it.

``retroactive_start = "created_at"`` moves the start of each ticket's first cycle back to the
ticket's creation: it is measured from then, the pause rules applying from then (a ServiceNow
SLA attached late, with retroactive pauses). ``cycles`` says which cycles are records:

* ``each`` (default): every cycle not discarded, id ``TICKET#N``, cycles numbered in order with
  the discarded ones (a gap in the numbers is a discarded cycle);
* ``first`` / ``last``: the first / last cycle not discarded of each ticket, id the ticket id;
* ``total``: one record per ticket, id the ticket id, its seconds the sum of every cycle not
  discarded, from the first one's start to the last one's end, running while the last one runs.

A cycle still running at the end of the data is running (unmeasured). A discarded cycle is no
record but is never lost: each one is an audit flag of the level, ``cycle_reset`` or
``cycle_cancelled``, counted in the period of its start with its ticket.

Some built-in clocks are custom clocks written down; the tests check them against each other:

* ``requester_wait_time``: start on entering ``new``, ``open``, ``pending`` or ``hold`` (the
  creation and every reopen), stop on entering ``solved`` or ``closed``, pause while
  ``pending``, cycles ``total`` (``agent_work_time``: pause while ``pending`` or ``hold``);
* ``reply_time``: start at the creation by the requester or a public requester comment, stop at
  a public agent comment or on entering ``solved`` or ``closed``, cycles ``each``.

Everything is computed over whole arrays (one sort of all events, then cumulative operations);
the whole events table is held in memory.
"""

from slaengine.clocks.builtin import CLOCKS, measure
from slaengine.clocks.custom import ClockDefinition, Condition, measure_custom
from slaengine.clocks.history import AUTHORS, EVENTS, STATUSES, History, read_history
from slaengine.clocks.spans import ClockTables, interval_schema, record_schema

__all__ = [
    "AUTHORS",
    "CLOCKS",
    "EVENTS",
    "STATUSES",
    "ClockDefinition",
    "ClockTables",
    "Condition",
    "History",
    "interval_schema",
    "measure",
    "measure_custom",
    "read_history",
    "record_schema",
]
