"""Service credits: from verdicts to what the vendor owes, every step shown.

The modules, from the bottom up (a module imports only those above it in this list):

- :mod:`~slaengine.credits.money` -- the money toolkit: rounding, percentages, shares of a fee,
  a period's fee. Knows nothing of verdicts.
- :mod:`~slaengine.credits.schema` -- the schema rules of ``[penalties]`` and the checks of its
  money against the currency, the fee and the service levels.
- :mod:`~slaengine.credits.terms` -- the ``[penalties]`` terms, parsed once when the contract
  is read into typed, frozen objects; every problem is found there.
- :mod:`~slaengine.credits.ledger` -- the result types: ledger lines, period and year totals,
  flags, the schedule.
- :mod:`~slaengine.credits.outcomes` -- what a penalty model sees of a period.
- :mod:`~slaengine.credits.schedule` -- the rules, applied period by period.

The schedule's JSON shape and plain text are :mod:`slaengine.present`'s (the presentation
floor, above the engine).
"""
