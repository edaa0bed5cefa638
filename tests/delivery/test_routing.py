"""Routing decisions and the MX path, in-process, with an injected resolver (never real DNS)."""

from __future__ import annotations

import asyncio

import pytest

from qtsmtp.delivery.engine import DeliveryEngine
from qtsmtp.delivery.resolver import NameServerFailure, NoSuchDomain
from qtsmtp.delivery.routing import HUB, LOCAL, MX, ROUTER, Routing, split_host_port
from qtsmtp.queue import format as qformat
from qtsmtp.queue import states as qstates


class _Log:
    def __init__(self):
        self.lines = []

    def send(self, msgid, *data):
        self.lines.append((msgid, data))

    def write(self, text):
        self.lines.append(("", (text,)))


def _routing(droot) -> Routing:
    return Routing(droot.root, local_addresses=("127.0.0.1",))


def test_local_domains_hub_router_and_mx(droot):
    droot.run("addsmtple", "TYPE(*DOMAIN)", "HOSTNAME('.corp.test')")
    droot.run("addsmtple", "TYPE(*NEAR)", "HOSTNAME('near.test')")
    droot.run("chgsmtpa", "ALIASDMN((1 'alias.test'))")
    r = _routing(droot)
    for local in ("u@sys.test", "u@a.corp.test", "u@alias.test", "postmaster", "u@[127.0.0.1]"):
        assert r.route(local).kind == LOCAL, local
    assert r.route("u@far.test").kind == MX
    droot.run("chgsmtpa", "MAILROUTER('127.0.0.1:2600')", "FIREWALL(*YES)")
    r = _routing(droot)
    assert r.route("u@far.test").kind == ROUTER
    assert r.route("u@near.test").kind == MX           # *NEAR bypasses the firewall
    droot.run("chgsmtpa", "FWDHUBSVR('hub.test:2525')")
    r = _routing(droot)
    assert r.route("u@near.test").kind == HUB           # the hub wins for all non-local
    assert r.route("u@sys.test").kind == LOCAL
    assert split_host_port("hub.test:2525") == ("hub.test", 2525)
    assert split_host_port("[::1]:26") == ("::1", 26)
    assert split_host_port("::1") == ("::1", 25)
    assert split_host_port("hub.test") == ("hub.test", 25)


def _deliver_once(droot, resolver) -> _Log:
    log = _Log()
    engine = DeliveryEngine(droot.root, log, resolver=resolver)
    engine.recover()
    asyncio.run(engine.run_until_idle())
    return log


@pytest.mark.parametrize("failure", [NoSuchDomain("gone"), NameServerFailure("timeout")])
def test_unresolvable_domain_falls_back_to_the_router(droot, sinks, failure):
    router = sinks()
    droot.run("chgsmtpa", f"MAILROUTER('{router.address}')", "RTYRMTSVR(*NO)")

    async def resolver(domain):
        raise failure
    droot.queue_message("a@sys.test", ["x@unknown.test"], b"Subject: mx\r\n\r\nbody\r\n")
    _deliver_once(droot, resolver)
    assert router.recipients() == ["x@unknown.test"]


def test_mx_hosts_in_order_and_name_server_failure_retried(droot, sinks, monkeypatch):
    good = sinks()
    asked = []

    async def resolver(domain):
        asked.append(domain)
        if domain == "flaky.test":
            raise NameServerFailure("SERVFAIL")
        return ["127.0.0.1"]
    droot.run("chgsmtpa", "RTYRMTSVR(*YES)")
    monkeypatch.setattr("qtsmtp.delivery.engine.Routing", Routing)
    # MX hosts are reached on port 25; point them at the sink through the pool.
    import qtsmtp.delivery.engine as engine_module
    original = engine_module.DeliveryEngine._next_hops

    async def next_hops(self, kind, destination):
        hops = await original(self, kind, destination)
        return [(h, good.port) for h, _ in hops]
    monkeypatch.setattr(engine_module.DeliveryEngine, "_next_hops", next_hops)
    droot.queue_message("a@sys.test", ["x@mx.test", "y@flaky.test"], b"Subject: mx\r\n\r\nb\r\n")
    log = _deliver_once(droot, resolver)
    assert good.recipients() == ["x@mx.test"]
    assert sorted(asked) == ["flaky.test", "mx.test"]
    deferred = qstates.listing(qformat.queue_directory(droot.root), qformat.DEFERRED)
    assert len(deferred) == 1
    assert any(m == "TCP5011" and "4.4.3" in d[2] for m, d in log.lines)
