"""The client job's work: the queue -> local Maildir, mail hub, mail router or MX.

Rooms: ``qfiles`` (queue states and per-message state files), ``routing`` (where a
recipient goes), ``resolver`` (MX look-ups), ``smtpclient`` (outbound SMTP, connection
reuse, per-destination limits), ``maildir`` (local delivery), ``schedule`` (RTYMIN,
RTYHOUR, RTYDAY), ``dsn`` (RFC 3464 bounces), ``engine`` (the loop that ties them),
``submit`` (the client submission queue), and the commands built on them.
"""
