"""Which SMTP attributes act on this system, and what the others say when they are set.

An IBM i administrator types CHGSMTPA from habit and trusts the result, so no keyword is
only stored: every one either acts, and ``ACTS`` names the end-to-end test that shows
its effect, or cannot act here (EBCDIC tables, the mail server framework, dial-up
schedules...), and ``NO_EFFECT`` names the diagnostic CHGSMTPA sends when it is set to
anything but its shipped value. That value is still stored, so IBM i scripts run
unchanged. This one table feeds CHGSMTPA's diagnostic, DSPSMTPA's "(no effect)" mark,
the table in chgsmtpa(1) (tools/manpage.py) and tests/unit/test_attrstatus.py, which
holds every CHGSMTPA keyword to one side or the other.
"""

from __future__ import annotations

from qtsmtp.messages import DIAGNOSTIC, Message

# keyword -> "tests/file.py::test_name", the end-to-end test that shows what it does.
ACTS: dict[str, str] = {
    "AUTOSTART": "tests/e2e/test_server_lifecycle.py::test_autostart_honours_the_attribute",
    "RTYMIN": "tests/delivery/test_client_job.py::test_451_then_250_is_retried_on_the_compressed_schedule",
    "RTYDAY": "tests/delivery/test_delivery_attributes.py::test_retries_by_hour_and_by_day_follow_the_retries_by_minute",
    "RTYHOUR": "tests/delivery/test_delivery_attributes.py::test_retries_by_hour_and_by_day_follow_the_retries_by_minute",
    "RTYRMTSVR": "tests/delivery/test_routing.py::test_mx_hosts_in_order_and_name_server_failure_retried",
    "SYSNAME": "tests/e2e/test_protocol_hygiene.py::test_greeting_uses_the_configured_system_name",
    "MAILROUTER": "tests/delivery/test_client_job.py::test_router_hub_and_local_maildir",
    "ALIASDMN": "tests/e2e/test_local_recipients.py::test_alias_domains_are_local_for_the_relay_decision",
    "ALWAUTH": "tests/security/test_sec_auth_tls.py::test_alwauth_local_does_not_let_a_logon_relay",
    "ALWIMPSSL": "tests/security/test_sec_auth_tls.py::test_implicit_tls_port",
    "ALWRLY": "tests/e2e/test_relay_gating.py::test_each_alwrly_mode",
    "FIREWALL": "tests/delivery/test_client_job.py::test_router_hub_and_local_maildir",
    "FWDHUBSVR": "tests/delivery/test_client_job.py::test_router_hub_and_local_maildir",
    "MAXEMMSIZE": "tests/e2e/test_protocol_hygiene.py::test_message_size_limit_from_maxemmsize",
    "MAXINEMM": "tests/e2e/test_attribute_effects.py::test_maxinemm_limits_the_sessions_served_at_once",
    "MAXOUTEMM": "tests/delivery/test_delivery_attributes.py::test_maxoutemm_limits_the_deliveries_made_at_once",
    "RBLSVR": "tests/security/test_sec_limits.py::test_dnsbl_listed_client_is_refused",
    "PORT": "tests/e2e/test_server_lifecycle.py::test_a_port_another_server_listens_on_stops_the_start",
    "TLSCERT": "tests/security/test_sec_auth_tls.py::test_swaks_tls_auth_relays",
    "TLSKEY": "tests/security/test_sec_auth_tls.py::test_refuses_to_start_with_an_open_key",
    "IMPSSLPORT": "tests/security/test_sec_auth_tls.py::test_implicit_tls_port",
    "PROXYPORT": "tests/security/test_sec_proxy.py::test_relay_follows_the_proxy_header",
    "MAXRCPT": "tests/security/test_sec_limits.py::test_size_recipients_and_bad_commands",
    "MAXCLTEMM": "tests/security/test_sec_limits.py::test_sessions_per_client",
    "MAXCLTRATE": "tests/security/test_sec_hostile_sessions.py::test_connection_rate_is_limited_across_jobs",
    "CMDTIMEOUT": "tests/e2e/test_attribute_effects.py::test_cmdtimeout_ends_an_idle_session",
    "DTATIMEOUT": "tests/security/test_sec_limits.py::test_slow_upload_is_not_cut_but_a_stalled_one_is",
    "MAXBADCMD": "tests/security/test_sec_limits.py::test_size_recipients_and_bad_commands",
    "MAXAUTHFAIL": "tests/security/test_sec_auth_tls.py::test_too_many_failures_end_the_session",
    "ALWBARELF": "tests/security/test_sec_hostile_data.py::test_alwbarelf_yes_accepts_them_and_stores_only_crlf",
    "COLDSTART": "tests/delivery/test_delivery_attributes.py::test_coldstart_yes_discards_the_queue_at_start_and_says_so",
    "KEEPUNTIL": "tests/delivery/test_delivery_attributes.py::test_keepuntil_returns_a_message_kept_longer_than_it_allows",
    "ETRNSVR": "tests/delivery/test_etrn.py::test_a_listed_client_runs_its_nodes_queue_now",
    "ETRNCLT": "tests/delivery/test_etrn.py::test_etrnclt_asks_the_hub_for_this_systems_mail_at_start",
    "VFYFROMUSR": "tests/e2e/test_attribute_effects.py::test_vfyfromusr_checks_the_sender_against_the_user_directory",
    "RUNQINTV": "tests/delivery/test_queue_runner.py::test_scheduled_run_waits_for_the_interval_and_for_no_client_job",
    "MIME8BIT": "tests/esmtp/test_esmtp_extensions.py::test_mime8bit_no_refuses_body_8bitmime_and_8bit_data",
    "ESMTPEXT": "tests/esmtp/test_esmtp_extensions.py::test_ehlo_offers_what_is_honoured_under_its_control",
    "JOURNAL": "tests/e2e/test_smtp_journal.py::test_a_message_story_from_connection_to_delivery",
    "FTRACN": "tests/e2e/test_mail_filters.py::test_ftracn_keep_quarantines_with_reason_and_wrksmtpqtn_releases_and_deletes",
    "NFYDLVRY": "tests/esmtp/test_dsn.py::test_nfydlvry_responsible_person_and_no_sender_reports",
    "DLYNFY": "tests/esmtp/test_dsn.py::test_delay_notice_once_after_dlynfy",
}

# keyword -> the diagnostic CHGSMTPA sends when it is set to anything but its shipped
# value; its first substitution is KEYWORD(value). qtsmtp-messages(7) says more of each.
NO_EFFECT: dict[str, str] = {
    "DIRTYPE": "TCP2700",
    "AUTOADD": "TCP2701",
    "USRIDPFX": "TCP2701",
    "ADDRESS": "TCP2701",
    "TBLTYPE": "TCP2701",
    "USRIDDELIM": "TCP2701",
    "CCSID": "TCP2702",
    "TBLSMTPOUT": "TCP2702",
    "TBLSMTPIN": "TCP2702",
    "PCTRTGCHR": "TCP2706",
    "ALLMAILMSF": "TCP2703",
    "DIALSCD": "TCP2704",
    "IFCDMN": "TCP2705",
    "OVRRJTCNNL": "TCP2709",
    "POPWDW": "TCP2708",
    "SBSD": "TCP2707",
    "VFYID": "TCP2720",
    "VFYMSFMSG": "TCP2703",
}

NO_EFFECT_MARK = "(no effect)"


def acts(keyword: str) -> bool:
    return keyword in ACTS


def shown(keyword: str, value) -> str:
    """KEYWORD(value) as a message names it: element lists in CL form."""
    return f"{keyword}({_cl(value)})"


def _cl(value) -> str:
    if isinstance(value, list):
        return " ".join(f"({_cl(v)})" if isinstance(v, list) else _cl(v) for v in value)
    return str(value)


def diagnostics(changed: dict, shipped: dict) -> list[Message]:
    """One diagnostic per keyword of ``changed`` (keyword -> value as stored) that has no
    effect here and was set to something other than its shipped value."""
    out = []
    for keyword, value in changed.items():
        msgid = NO_EFFECT.get(keyword)
        if msgid is not None and value != shipped.get(keyword):
            out.append(Message(msgid, shown(keyword, value), type=DIAGNOSTIC))
    return out


# List types that listtypes marks acted_on=False -> why ADDSMTPLE's entry does nothing
# yet (TCP2730), as WRKSMTPLE and qatmadrlst(5) say too.
LIST_NO_EFFECT: dict[str, str] = {
}


def list_diagnostic(list_type) -> list[Message]:
    """TCP2730 when ADDSMTPLE adds to a list the server does not use (yet)."""
    if list_type.acted_on:
        return []
    return [Message("TCP2730", list_type.name_in_text,
                    LIST_NO_EFFECT.get(list_type.type, "the server does not read this list"),
                    type=DIAGNOSTIC)]
