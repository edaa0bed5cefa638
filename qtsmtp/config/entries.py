"""SMTP list entries: validated from command parameters, stored one record per line.

An Entry knows its record text (what the member holds) and its identity (what makes two
entries "the same": the network for address lists, so 10.1.1.5/255.255.255.0 and
10.1.1.0/255.255.255.0 are one entry; the lower-cased domain for domain lists). Parsing a
member line and validating command values both end in the same Entry, so a hand-edited
member and a command-made one mean exactly the same thing.
"""

from __future__ import annotations

import sys
# The C functions alone: socket.py would also load selectors, enum and array, at
# every CL command's start (bench/bench_cl.py).
import _socket as socket

from qtsmtp.cl import charset
from qtsmtp.messages import CLError, Message, escape
from qtsmtp.config import listtypes as lt
from qtsmtp.record import Record

# ipaddress (with functools and collections) is imported where an address is not a
# canonical dotted IPv4 one: ADDSMTPLE INTNETADR('10.1.1.1') starts without it
# (bench/bench_cl.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import ipaddress

DEFAULT_MASK = "255.255.255.255"
# The longest record (characters) a list member may hold: the longest a command makes is
# a *HOSTAUTH entry, 255 + 255 + 255 and two tabs. A reader stops at
# MAX_RECORD_BYTES, so that a huge line is never held whole (qatmadrlst(5)).
MAX_RECORD = 1024
MAX_RECORD_BYTES = 4 * MAX_RECORD


class Entry(Record, frozen=True):
    __slots__ = ("list_type", "record", "identity", "_network", "address", "domain", "text")
    list_type: lt.ListType
    record: str                       # the member line, without newline
    # Equality key within the list: ("ip", version, network as an int, prefix length),
    # ("domain", name) or ("text", data).
    identity: tuple
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None   # a property, below
    address: str                      # the address as given (host bits kept)
    domain: str                       # lower-case, no trailing dot, may start with "."
    text: str                         # filter data, credential user

    def __init__(self, list_type: lt.ListType, record: str, identity: tuple,
                 network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None,
                 address: str = "", domain: str = "", text: str = ""):
        put = object.__setattr__          # frozen; made for every record a reader parses
        put(self, "list_type", list_type)
        put(self, "record", record)
        put(self, "identity", identity)
        # An ipaddress network; or (network, prefix length) of a canonical IPv4 entry,
        # made an IPv4Network when first asked for (a command needs only its identity).
        put(self, "_network", network)
        put(self, "address", address)
        put(self, "domain", domain)
        put(self, "text", text)

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        network = self._network
        if network.__class__ is tuple:
            from ipaddress import IPv4Network
            network = IPv4Network(network)
            object.__setattr__(self, "_network", network)
        return network

    @property
    def is_address(self) -> bool:
        return self._network is not None


def _ip_identity(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple:
    return ("ip", network.version, int(network.network_address), network.prefixlen)


# --- validation of single values ------------------------------------------------------

def ipv4_address(text: str, list_type: lt.ListType) -> ipaddress.IPv4Address:
    import ipaddress
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        pass
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        raise escape("TCP1901", text) from None
    v6 = _ip6_twin(list_type)
    raise escape("TCP1906", text, list_type.type, f"TYPE({v6}) IP6NETADR" if v6 else "an IPv4 address")


def ipv6_address(text: str, list_type: lt.ListType) -> ipaddress.IPv6Address:
    import ipaddress
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        pass
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        raise escape("TCP1903", text) from None
    raise escape("TCP1907", text, list_type.type, f"TYPE({_ip4_twin(list_type)}) INTNETADR")


def subnet_mask(text: str) -> int:
    """The prefix length of a dotted mask; the mask must be contiguous ones then zeros."""
    import ipaddress
    try:
        value = int(ipaddress.IPv4Address(text))
    except ValueError:
        raise escape("TCP1902", text, "not a dotted IPv4 mask such as 255.255.255.0") from None
    inverted = ~value & 0xFFFFFFFF
    if inverted & (inverted + 1):
        raise escape("TCP1902", text, "the one bits are not contiguous from the left")
    return 32 - inverted.bit_length()


def prefix_length(text: str) -> int:
    text = text.strip().lstrip("/")
    # isdecimal, not isdigit: isdigit also takes "²" and "①", which int() refuses.
    if not text.isdecimal() or not 0 <= int(text) <= 128:
        raise escape("TCP1904", text)
    return int(text)


def domain_name(text: str) -> str:
    """A domain in canonical form: lower case, one trailing dot dropped."""
    name = text.strip().lower()
    if name.endswith("."):
        name = name[:-1]
    body = name[1:] if name.startswith(".") else name
    if not body:
        raise escape("TCP1905", text, "it is empty")
    if len(body) > 253:
        raise escape("TCP1905", text, "longer than 253 characters")
    for label in body.split("."):
        if not _is_label(label):
            raise escape("TCP1905", text, f"label '{label}' is not letters, digits and inner hyphens")
    if body.rpartition(".")[2].isdigit():
        # No top-level domain is all digits (RFC 3696 2): "129", "1.2.3", "10.0.0.0" are
        # addresses, or nothing, and a list reader takes a record of digits and dots
        # for an address. Refused here, for the writer and the reader alike.
        raise escape("TCP1905", text, "its last label is all digits, as an address's; a host "
                                      "name ends in a label with a letter")
    return name


def _is_label(label: str) -> bool:
    """An RFC 1123 label: (?!-)[A-Za-z0-9-]{1,63}(?<!-) (tests/unit/test_charset.py)."""
    return (0 < len(label) <= 63 and label.isascii() and label.replace("-", "").isalnum()
            and label[0] != "-" and label[-1] != "-")


def plain_text(value: str, keyword: str) -> str:
    # A record is one line; tabs separate credential fields.
    if charset.first_of(value, charset.C0_AND_DEL) is not None:
        raise escape("TCP1908", keyword)
    return value


def _ip6_twin(list_type: lt.ListType) -> str:
    return {"*ACCEPT": "*ACCEPTIP6", "*REJECT": "*REJECTIP6", "*DOMAIN": "*DOMAINIP6",
            "*SVRBIND": "*SVRBNDIP6", "*CLTBIND": "*CLTBNDIP6"}.get(list_type.type, "")


def _ip4_twin(list_type: lt.ListType) -> str:
    return {"*ACCEPTIP6": "*ACCEPT", "*REJECTIP6": "*REJECT", "*DOMAINIP6": "*DOMAIN",
            "*SVRBNDIP6": "*SVRBIND", "*CLTBNDIP6": "*CLTBIND"}.get(list_type.type, "")


# --- entries from validated values ------------------------------------------------------

def ip4_entry(list_type: lt.ListType, address: str, mask: str = DEFAULT_MASK) -> Entry:
    # An address and mask in canonical form (as nearly every command gives them): the
    # same Entry as below, without parsing each through ipaddress (a script of 10,000
    # ADDSMTPLE makes 10,000).
    fast = _canonical_ip4_entry(list_type, address, mask)
    if fast is not None:
        return fast
    return parsed_ip4_entry(list_type, address, mask)


def parsed_ip4_entry(list_type: lt.ListType, address: str, mask: str = DEFAULT_MASK) -> Entry:
    """ip4_entry through ipaddress: what it answers for any address and mask (the fast
    path's Entry is this one; tests/unit/test_address_fast_path.py)."""
    addr = ipv4_address(address, list_type)
    bits = subnet_mask(mask)
    from ipaddress import IPv4Network
    net = IPv4Network((int(addr) & ~((1 << (32 - bits)) - 1), bits))
    return Entry(list_type, f"{addr} {net.netmask}", _ip_identity(net), net, str(addr))


def ip6_entry(list_type: lt.ListType, address: str, prefix: str | int = 128) -> Entry:
    addr = ipv6_address(address, list_type)
    bits = prefix_length(str(prefix))
    from ipaddress import IPv6Network
    net = IPv6Network((int(addr) >> (128 - bits) << (128 - bits), bits))
    return Entry(list_type, f"{addr.compressed} {bits}", _ip_identity(net), net, addr.compressed)


def host_entry(list_type: lt.ListType, address: str) -> Entry:
    import ipaddress
    if list_type.kind == lt.HOST6:
        addr = ipv6_address(address, list_type)
        net = ipaddress.IPv6Network(addr)
    else:
        addr = ipv4_address(address, list_type)
        net = ipaddress.IPv4Network(addr)
    return Entry(list_type, addr.compressed, _ip_identity(net), net, addr.compressed)


def domain_entry(list_type: lt.ListType, hostname: str, address: str = "") -> Entry:
    domain = domain_name(hostname)
    if not address:
        return Entry(list_type, domain, ("domain", domain), domain=domain)
    inet = (ipv6_address(address, list_type) if list_type.type == "*DOMAINIP6"
            else ipv4_address(address, list_type))
    return Entry(list_type, f"{domain} {inet.compressed}", ("domain", domain), domain=domain,
                 address=inet.compressed)


def text_entry(list_type: lt.ListType, data: str) -> Entry:
    data = plain_text(data, "FTRDATA")
    if not data.strip():
        raise escape("TCP2653", "FTRDATA", list_type.type)
    return Entry(list_type, data, ("text", data), text=data)


def next_hop_name(text: str) -> str:
    """A next hop as the client job names it: a domain, or an IP address (FWDHUBSVR and
    MAILROUTER may be either, so a *HOSTAUTH entry for one may be too)."""
    import ipaddress
    try:
        return ipaddress.ip_address(text.strip()).compressed
    except ValueError:
        return domain_name(text)


def credential_entry(list_type: lt.ListType, host: str, user: str = "", password: str = "") -> Entry:
    domain = next_hop_name(host)
    user = plain_text(user, "USERNAME")
    password = plain_text(password, "PASSWORD")
    return Entry(list_type, f"{domain}\t{user}\t{password}", ("domain", domain), domain=domain,
                 text=user)


# --- member records -------------------------------------------------------------------

def parse_record(list_type: lt.ListType, line: str) -> Entry | None:
    """The entry a member line holds; None for a blank or comment (#) line.

    Filter members have no comments: their data may itself begin with "#".
    Raises the CL error of the offending value; the caller adds member and line number.
    """
    if len(line) > MAX_RECORD:
        raise escape("TCP2690", f"{len(line)} characters", MAX_RECORD)
    stripped = line.strip()
    kind = list_type.kind
    if not stripped:
        return None
    if kind == lt.TEXT:
        return text_entry(list_type, line.rstrip("\n"))
    if stripped.startswith("#"):
        return None
    if kind == lt.CREDENTIAL:
        host, _, rest = line.rstrip("\n").partition("\t")
        user, _, password = rest.partition("\t")
        return credential_entry(list_type, host, user, password)
    fields = stripped.split()
    if kind == lt.IP4:
        return ip4_entry(list_type, *_fields(fields, 1, 2))
    if kind == lt.IP6:
        return ip6_entry(list_type, *_fields(fields, 1, 2))
    if kind in (lt.HOST4, lt.HOST6):
        return host_entry(list_type, *_fields(fields, 1, 1))
    if kind == lt.DOMAIN:
        return domain_entry(list_type, *_fields(fields, 1, 2))
    # *NEAR and *ETRNSVR hold address entries and domain entries side by side.
    if _looks_like_address(fields[0]):
        return ip4_entry(list_type, *_fields(fields, 1, 2))
    return domain_entry(list_type, *_fields(fields, 1, 1))


def parse_record_fast(list_type: lt.ListType, line: str) -> Entry | None:
    """parse_record, in a third of the time for what a big IPv4 list is made of.

    A member of a million entries takes a million parse_record calls to load, each
    several ipaddress objects. The records ADDSMTPLE writes to an IPv4 address list are
    "a.b.c.d m.m.m.m" in canonical form; for those this builds the same Entry from two
    inet_aton calls. Anything else, and any record that is not valid, goes to
    parse_record, so what is accepted and every error message stay exactly its own.
    """
    if list_type.kind == lt.IP4:
        fields = line.split()
        if 1 <= len(fields) <= 2:
            entry = _canonical_ip4_entry(list_type, fields[0],
                                         fields[1] if len(fields) == 2 else DEFAULT_MASK)
            if entry is not None:
                return entry
    return parse_record(list_type, line)


def canonical_ip4_network(list_type: lt.ListType, line: str) -> tuple[int, int] | None:
    """(network, prefix length) of an IPv4 list record that parse_record_fast takes its
    fast path for, without building the Entry: the same network its Entry holds. None for
    any other record (blank, comment, not canonical, not valid): parse it then."""
    if list_type.kind != lt.IP4:
        return None
    fields = line.split()
    if 1 <= len(fields) <= 2:
        return _canonical_ip4(fields[0], fields[1] if len(fields) == 2 else DEFAULT_MASK)
    return None


def _canonical_ip4_entry(list_type: lt.ListType, address: str, mask: str) -> Entry | None:
    """ip4_entry's Entry for a canonical dotted address and a contiguous dotted mask;
    None for anything else (the caller then takes the full path)."""
    found = _canonical_ip4(address, mask)
    if found is None:
        return None
    return Entry(list_type, f"{address} {mask}", ("ip", 4, *found), found, address)


# The 33 contiguous masks, in the one dotted form that reads back unchanged ->
# (mask bits, prefix length). Any other mask text takes parse_record's path.
_CANONICAL_MASKS = {
    socket.inet_ntoa(bits.to_bytes(4, "big")): (bits, prefix)
    for prefix in range(33) for bits in [(0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF]}


def _canonical_ip4(address: str, mask: str) -> tuple[int, int] | None:
    """(network, prefix length) for a canonical dotted address and a contiguous dotted
    mask; None for anything else."""
    known = _CANONICAL_MASKS.get(mask)
    if known is None:
        return None                  # not canonical, or not contiguous: parse_record says
    try:
        packed = socket.inet_aton(address)
    except (OSError, UnicodeError, ValueError):
        return None
    # inet_aton also takes "10.1", "010.1.1.1" (octal) and "0x0a.1.1.1": only the form
    # that reads back unchanged is canonical, and it is what IPv4Address accepts.
    if socket.inet_ntoa(packed) != address:
        return None
    return int.from_bytes(packed, "big") & known[0], known[1]


class PackedIp4(dict):
    """IPv4 entries by prefix length: the keys (``network >> host bits``) of each, in
    an array("I") (canonical_ip4_block), as the policy keeps them."""
    __slots__ = ()


# By canonical dotted mask: the tag and the shift of canonical_ip4_block. inet_pton
# takes exactly what the inet_aton and inet_ntoa round trip of _canonical_ip4 takes,
# given only digits and dots (tests/unit/test_prefix_table.py).
_PREFIX_OF = {mask: prefix for mask, (_, prefix) in _CANONICAL_MASKS.items()}
_SHIFT_OF = {mask: 32 - prefix for mask, (_, prefix) in _CANONICAL_MASKS.items()}
_BIG_ENDIAN = sys.byteorder == "big"


def canonical_ip4_block(data: bytes) -> PackedIp4 | None:
    """The entries of every line of ``data`` (whole lines, each ending in "\n") when
    every one is the canonical "a.b.c.d m.m.m.m" ADDSMTPLE writes: the networks and
    prefix lengths canonical_ip4_network gives, packed, a block of lines at a time with
    every loop in C (the server's start with a million entries). None when any line is
    anything else; the caller then reads the block line by line."""
    lines = data.count(b"\n")
    if data.translate(None, b"0123456789.") != b" \n" * lines:
        return None
    words = data.decode("ascii").split()
    if len(words) != 2 * lines:
        return None                 # a line of one word and one of three, or blanks
    masks = words[1::2]
    from array import array         # here: the CL commands never need them
    from functools import partial
    try:
        shifts = list(map(_SHIFT_OF.__getitem__, masks))
        packed = b"".join(map(partial(socket.inet_pton, socket.AF_INET), words[0::2]))
    except (KeyError, OSError):
        return None
    addresses = array("I")
    if addresses.itemsize != 4:
        return None
    addresses.frombytes(packed)
    if not _BIG_ENDIAN:
        addresses.byteswap()
    keys = PackedIp4((_PREFIX_OF[mask], array("I")) for mask in set(masks))
    append = {32 - prefix: keys[prefix].append for prefix in keys}
    for shift, address in zip(shifts, addresses):
        append[shift](address >> shift)
    return keys


def read_back(entry: Entry) -> None:
    """What a writer checks before it stores ``entry``: the reader of the member takes its
    record for this very entry. A command must never store a record the reader refuses
    (every later command on the list and the server's start would fail on it) or reads
    as another entry (a host name taken for a client network)."""
    if entry.list_type.kind == lt.IP4:
        # parse_record_fast's canonical path, without making the Entry it would make:
        # the identity and the record that Entry would have, compared with the entry's.
        fields = entry.record.split()
        if len(fields) == 2 and f"{fields[0]} {fields[1]}" == entry.record:
            found = _canonical_ip4(fields[0], fields[1])
            if found is not None and entry.identity == ("ip", 4, *found):
                return
    try:
        # As the server reads it (parse_record's twin, which parse_record itself checks).
        again = parse_record_fast(entry.list_type, entry.record)
    except CLError as bad:
        raise escape("TCP2692", entry.record, entry.list_type.name_in_text,
                     bad.escape.text.rstrip(".")) from None
    if again is None or again.identity != entry.identity or again.record != entry.record:
        raise escape("TCP2692", entry.record, entry.list_type.name_in_text,
                     "it would be read back as another entry")


# Lists whose entries let a client relay (ALWRLY *LIST, *NEAR, *BOTH).
_RELAY_LISTS = ("*ACCEPT", "*ACCEPTIP6", "*NEAR")


def open_relay_warning(entry: Entry) -> Message | None:
    """TCP2694 for an entry that lets the whole world relay: a relay list's network of
    prefix 0 (0.0.0.0 0.0.0.0, :: 0), or a *NEAR domain that is a top-level domain."""
    if entry.list_type.type not in _RELAY_LISTS:
        return None
    if entry.identity[0] == "ip" and entry.identity[3] == 0:
        reach = "every client on the Internet may send mail through this system to any domain"
    elif entry.domain and "." not in entry.domain.lstrip("."):
        reach = (f"any client may send mail through this system to every domain under "
                 f".{entry.domain.lstrip('.')}")
    else:
        return None
    return Message("TCP2694", entry.record, entry.list_type.name_in_text, reach)


def not_valid_at(member, number: int | str, bad: CLError) -> CLError:
    """TCP2670: the member (a MemberFile) and the record number of a line that does not
    parse, with parse_record's reason."""
    return escape("TCP2670", member.member, member.file, member.library, number,
                  bad.escape.text.rstrip("."))


def _fields(fields: list[str], least: int, most: int) -> list[str]:
    if not least <= len(fields) <= most:
        raise escape("TCP1909", " ".join(fields), len(fields),
                     least if least == most else f"{least} or {most}")
    return fields


def _looks_like_address(word: str) -> bool:
    return word.replace(".", "").isdigit() or ":" in word


def entry_from_parms(list_type: lt.ListType, values: dict) -> Entry:
    """The entry ADDSMTPLE/RMVSMTPLE values name. ``values`` holds given keywords only."""
    kind = list_type.kind
    get = values.get
    if kind == lt.IP4:
        return ip4_entry(list_type, get("INTNETADR"), get("SUBNETMASK", DEFAULT_MASK))
    if kind == lt.IP6:
        return ip6_entry(list_type, get("IP6NETADR"), get("IP6PFX", 128))
    if kind in (lt.HOST4, lt.HOST6):
        return host_entry(list_type, get("INTNETADR") or get("IP6NETADR"))
    if kind == lt.DOMAIN:
        return domain_entry(list_type, get("HOSTNAME"), get("INTNETADR") or get("IP6NETADR") or "")
    if kind == lt.TEXT:
        return text_entry(list_type, get("FTRDATA"))
    if kind == lt.CREDENTIAL:
        return credential_entry(list_type, get("HOSTNAME"), get("USERNAME", ""), get("PASSWORD", ""))
    # *NEAR / *ETRNSVR: an address entry or a domain entry, not both at once.
    if "HOSTNAME" in values and "INTNETADR" in values:
        raise escape("TCP2652", "HOSTNAME", f"{list_type.type} with INTNETADR")
    if "HOSTNAME" in values:
        if "SUBNETMASK" in values:
            raise escape("TCP2652", "SUBNETMASK", f"{list_type.type} with HOSTNAME")
        return domain_entry(list_type, get("HOSTNAME"))
    return ip4_entry(list_type, get("INTNETADR"), get("SUBNETMASK", DEFAULT_MASK))
