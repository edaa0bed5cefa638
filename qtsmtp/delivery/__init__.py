"""The client job's work: the queue -> local Maildir, mail hub, mail router or MX.

Rooms: ``job`` (the QTSMTPCLTD job: its loop and lock), ``routing`` (where a
recipient goes), ``resolver`` (MX look-ups), ``smtpclient`` (outbound SMTP, connection
reuse, per-destination limits), ``maildir`` (local delivery), ``schedule`` (RTYMIN,
RTYHOUR, RTYDAY), ``dsn`` (RFC 3464 bounces), ``engine`` (the loop that ties them),
``submit`` (the client submission queue). The queue's format and states are
qtsmtp.queue's; the commands built on these rooms are in qtsmtp.programs.
"""
