"""The SMTP list types of ADDSMTPLE/RMVSMTPLE and where each one is kept.

One table says, for every TYPE value, which member of QUSRSYS/QATMADRLST holds the list,
what kind of record it stores, and which command parameters belong to it. The commands,
the relay policy and the panels all read this table, so a list type is described once.
"""

from __future__ import annotations

from qtsmtp.record import Record

ADDRESS_LIST_FILE = "QATMADRLST"

# Record kinds: what one line of the member looks like.
IP4 = "ip4"            # "address mask"            10.1.0.0 255.255.0.0
IP6 = "ip6"            # "address prefix-length"   2001:db8:: 32
IP4_OR_DOMAIN = "near" # either of the two above, or a domain
DOMAIN = "domain"      # "domain [interface-address]"
HOST4 = "host4"        # "address"                 interface address, no mask
HOST6 = "host6"        # "address"
HOST_OR_IP4 = "etrn"   # a host name, or "address mask"
TEXT = "text"          # free text (filter data), one value per line
CREDENTIAL = "cred"    # "host<TAB>user<TAB>password", member kept 0600


class ListType(Record, frozen=True):
    type: str                   # the TYPE special value, e.g. "*ACCEPT"
    member: str                 # member name in QATMADRLST
    title: str                  # what IBM i calls the list
    kind: str                   # record kind, one of the constants above
    add_parms: frozenset[str]   # parameters ADDSMTPLE accepts for this type
    required: tuple[tuple[str, ...], ...]  # each tuple: one of these must be given
    secret: bool = False        # member holds credentials: never group/world readable
    acted_on: bool = True       # False: stored and validated, not used by the server yet

    @property
    def name_in_text(self) -> str:
        """The title as it reads inside a sentence: "the accept relay list (IPv6)"."""
        return self.title[0].lower() + self.title[1:]

    @property
    def rmv_parms(self) -> frozenset[str]:
        # RMVSMTPLE has no USERNAME/PASSWORD: a *HOSTAUTH entry is named by its host.
        return self.add_parms - {"USERNAME", "PASSWORD"}


def _t(type_, member, title, kind, parms, required, **kw) -> ListType:
    return ListType(type_, member, title, kind, frozenset(parms.split()),
                    tuple(tuple(r.split("|")) for r in required), **kw)


LIST_TYPES: dict[str, ListType] = {t.type: t for t in (
    _t("*ACCEPT", "ACCEPTRLY", "Accept relay list", IP4, "INTNETADR SUBNETMASK", ["INTNETADR"]),
    _t("*REJECT", "REJECTCNN", "Reject connection list", IP4, "INTNETADR SUBNETMASK", ["INTNETADR"]),
    _t("*NEAR", "NEAR", "Near domain list", IP4_OR_DOMAIN, "INTNETADR SUBNETMASK HOSTNAME",
       ["INTNETADR|HOSTNAME"]),
    _t("*DOMAIN", "DOMAIN", "Domains list", DOMAIN, "HOSTNAME INTNETADR", ["HOSTNAME"]),
    _t("*SVRBIND", "SVRBIND", "Server bind list", HOST4, "INTNETADR", ["INTNETADR"]),
    _t("*CLTBIND", "CLTBIND", "Client bind list", HOST4, "INTNETADR", ["INTNETADR"]),
    _t("*ETRNSVR", "ETRNSVR", "ETRN server list", HOST_OR_IP4, "INTNETADR SUBNETMASK HOSTNAME",
       ["INTNETADR|HOSTNAME"]),
    _t("*FTRSUBJECT", "FTRSUBJECT", "Subject filter list", TEXT, "FTRDATA", ["FTRDATA"]),
    _t("*FTRORIGIN", "FTRORIGIN", "Originator filter list", TEXT, "FTRDATA", ["FTRDATA"]),
    _t("*FTRFILNAME", "FTRFILNAME", "Attachment file name filter list", TEXT, "FTRDATA", ["FTRDATA"]),
    _t("*FTRTYPE", "FTRTYPE", "Attachment type filter list", TEXT, "FTRDATA", ["FTRDATA"]),
    _t("*HOSTAUTH", "HOSTAUTH", "Host authentication list", CREDENTIAL,
       "HOSTNAME USERNAME PASSWORD", ["HOSTNAME", "USERNAME", "PASSWORD"], secret=True),
    _t("*ACCEPTIP6", "ACCEPTIP6", "Accept relay list (IPv6)", IP6, "IP6NETADR IP6PFX", ["IP6NETADR"]),
    _t("*REJECTIP6", "REJECTIP6", "Reject connection list (IPv6)", IP6, "IP6NETADR IP6PFX", ["IP6NETADR"]),
    _t("*DOMAINIP6", "DOMAINIP6", "Domains list (IPv6)", DOMAIN, "HOSTNAME IP6NETADR", ["HOSTNAME"]),
    _t("*SVRBNDIP6", "SVRBNDIP6", "Server bind list (IPv6)", HOST6, "IP6NETADR", ["IP6NETADR"]),
    _t("*CLTBNDIP6", "CLTBNDIP6", "Client bind list (IPv6)", HOST6, "IP6NETADR", ["IP6NETADR"]),
)}

BY_MEMBER: dict[str, ListType] = {t.member: t for t in LIST_TYPES.values()}
