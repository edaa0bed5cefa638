"""A CL program of the shape IBM documents for SMTP set-up, run as is by the real
``qtsmtp run`` console script on a copy of the embedded default library."""

import tomllib

from support import member

SETUP = """\
/*********************************************************************/
/* SMTPSETUP: relay set-up for the branch offices.                   */
/* CALL SMTPSETUP PARM('10.1.1.0' '255.255.255.0' 'mail.example.com')*/
/*********************************************************************/
             PGM        PARM(&NET &MASK &ROUTER)
             DCL        VAR(&NET) TYPE(*CHAR) LEN(15)
             DCL        VAR(&MASK) TYPE(*CHAR) LEN(15)
             DCL        VAR(&ROUTER) TYPE(*CHAR) LEN(64)
             DCL        VAR(&MSGID) TYPE(*CHAR) LEN(7)
             DCL        VAR(&USER) TYPE(*CHAR) LEN(10)
             MONMSG     MSGID(CPF0000) EXEC(GOTO CMDLBL(ERROR))

/* Relay only for the listed networks, through the mail router.     */
             CHGSMTPA   AUTOSTART(*YES) ALWRLY(*LIST) +
                          MAILROUTER(&ROUTER) FIREWALL(*NO)
             RTVJOBA    USER(&USER)

/* The branch network: already there is fine.                        */
             ADDSMTPLE  TYPE(*ACCEPT) INTNETADR(&NET) SUBNETMASK(&MASK)
             MONMSG     MSGID(TCP2650) EXEC(SNDPGMMSG MSG('Network ' *CAT +
                          %TRIM(&NET) *BCAT 'already accepted'))
             ADDSMTPLE  TYPE(*ACCEPT) INTNETADR('127.0.0.1')
             MONMSG     MSGID(TCP2650)

/* Old networks: gone already is fine too.                           */
             RMVSMTPLE  TYPE(*ACCEPT) INTNETADR('192.168.99.0') +
                          SUBNETMASK('255.255.255.0')
             MONMSG     MSGID(TCP2651)

             SNDPGMMSG  MSG('SMTP set-up for' *BCAT %TRIM(&NET) *BCAT +
                          'done by' *BCAT &USER) MSGTYPE(*COMP)
             GOTO       CMDLBL(END)

 ERROR:      RCVMSG     MSGTYPE(*EXCP) MSGID(&MSGID)
             SNDPGMMSG  MSGID(CPF9898) MSGF(QCPFMSG) +
                          MSGDTA('SMTP set-up failed with ' *CAT &MSGID) +
                          MSGTYPE(*ESCAPE)
 END:        ENDPGM
"""


def test_ibm_shaped_setup_program_runs_as_is(cl, qroot, tmp_path):
    path = tmp_path / "smtpsetup.clp"
    path.write_text(SETUP)
    args = ["run", str(path), "PARM('10.1.1.0' '255.255.255.0' 'mail.example.com')"]
    r = cl("qtsmtp", *args)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[:3] == ["TCP2662 SMTP attributes changed.", "TCP2660 SMTP list entry added.",
                       "TCP2660 SMTP list entry added."]
    assert out[3].startswith("SMTP set-up for 10.1.1.0 done by ")
    assert out[4] == f"QTS0002 Script {path} completed; commands run: 4."
    assert r.stderr.startswith("TCP2651 ")            # monitored, still reported
    assert member(qroot, "QATMADRLST", "ACCEPTRLY") == ("10.1.1.0 255.255.255.0\n"
                                                         "127.0.0.1 255.255.255.255\n")
    config = tomllib.loads(member(qroot, "QATMSMTP", "CONFIG"))
    assert (config["ALWRLY"], config["MAILROUTER"], config["AUTOSTART"]) == (
        "*LIST", "mail.example.com", "*YES")

    # Run again: the entries are there already, and the program says so and goes on.
    r = cl("qtsmtp", *args)
    assert r.returncode == 0, r.stderr
    assert "Network 10.1.1.0 already accepted" in r.stdout + r.stderr

    # A bad parameter: the function check goes to the program-level MONMSG, which ends
    # the program with an escape message of its own.
    r = cl("qtsmtp", "run", str(path), "PARM('10.1.1.999' '255.255.255.0' 'mail.example.com')")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == "CPF9898 SMTP set-up failed with CPF9999."


def test_a_program_that_fails_its_check_changes_nothing(cl, qroot, tmp_path):
    before = member(qroot, "QATMSMTP", "CONFIG")
    path = tmp_path / "bad.clp"
    path.write_text(SETUP.replace("RTVJOBA    USER(&USER)", "RTVJOBA    USER(&USR)"))
    r = cl("qtsmtp", "run", str(path), "PARM('10.1.1.0' '255.255.255.0' 'mail.example.com')")
    assert r.returncode == 2
    assert "CPD0727 Variable &USR is referred to but not declared." in r.stderr
    assert r.stderr.splitlines()[-1].startswith("QTS0005 ")
    assert member(qroot, "QATMSMTP", "CONFIG") == before
    assert member(qroot, "QATMADRLST", "ACCEPTRLY") == ""


def test_shell_and_prompting_messages(cl):
    r = cl("qtsmtp", "ADDSMTPLE TYPE(*ACCEPT) FOO(1)")
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == "CPD0043 Keyword FOO not valid for this command."
    assert r.stderr.splitlines()[-1] == "CPF0006 Errors occurred in command."
    r = cl("qtsmtp", "CHGSMTPA ??ALWRLY(*LIST)", input="")
    assert (r.returncode, r.stderr) == (
        2, "QTS1008 CHGSMTPA needs a terminal to prompt; give the parameters instead.\n")
    r = cl("chgsmtpa", "??ALWRLY(*LIST)", input="")
    assert r.returncode == 2 and r.stderr.startswith("QTS1008 ")
