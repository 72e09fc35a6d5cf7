"""A C2SP tlog-witness that a court, a procuratorate or a notary runs on its own machine.

It needs only the offline core and the standard library's HTTP server: no database, no
object store. ``state`` keeps, per log origin, the latest checkpoint it cosigned (durably);
``protocol`` decides an ``add-checkpoint`` request; ``server`` serves it over HTTP.
"""
