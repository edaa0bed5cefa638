"""CL programs, as a table: program source -> exit status, messages sent, list member after.

Each row runs a whole program through ``qtsmtp run``'s engine (cl.script.run_script with
the real command runner) on a temporary data root. ``out`` lists the lines written, in
order, without the indented second-level lines; ``member`` the *ACCEPT list after the
run (None: not looked at). Add rows, not code.
"""

from __future__ import annotations

import io

import pytest

from qtsmtp.cl.script import run_program, run_script
from qtsmtp.programs import runner
from support import member

DONE = "QTS0002 Script t.clp completed; commands run: {}."
ADDED = "TCP2660 SMTP list entry added."
EXISTS = "TCP2650 SMTP list entry already exists in the accept relay list."
MISSING = "TCP2651 SMTP list entry not found in the accept relay list."


def run(source: str, parameters=None, limit=None):
    stream = io.StringIO()
    if limit:
        status = run_program(source, "t.clp", runner.run_bound, stream, stream, parameters, limit)
    else:
        status = run_script(source, "t.clp", runner.run_bound, stream, stream, parameters)
    lines = [line for line in stream.getvalue().splitlines() if not line.startswith("  ")]
    return status, lines


ROWS = [
    # --- the program, written as IBM's compiler takes it, and variables in parameters
    ("monmsg_exec_do_after_the_command", """
     PGM
       RMVSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')
       MONMSG MSGID(TCP2651) EXEC(DO)
         SNDPGMMSG MSG('Entry was not there')
       ENDDO
       ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')
     ENDPGM""", None, 0, [MISSING, "Entry was not there", ADDED, DONE.format(2)],
     "10.1.1.0 255.255.255.0\n"),
    ("parameters_from_the_command_line", """
     PGM PARM(&NET &MASK)
       DCL VAR(&NET) TYPE(*CHAR) LEN(15)
       DCL VAR(&MASK) TYPE(*CHAR) LEN(15)
       ADDSMTPLE TYPE(*ACCEPT) INTNETADR(&NET) SUBNETMASK(&MASK)
     ENDPGM""", ["10.2.0.0", "255.255.0.0"], 0, [ADDED, DONE.format(1)], "10.2.0.0 255.255.0.0\n"),
    ("expression_in_a_parameter_and_positional_dcl", """
     DCL &N *INT 4 VALUE(7)
     ADDSMTPLE *ACCEPT INTNETADR('10.0.0.' *TCAT %CHAR(&N * 2))
     """, None, 0, [ADDED, DONE.format(1)], "10.0.0.14 255.255.255.255\n"),
    ("special_value_held_in_a_variable", """
     PGM
       DCL &T *CHAR 11 VALUE('*ACCEPT')
       ADDSMTPLE TYPE(&T) INTNETADR('10.3.3.3')
     ENDPGM""", None, 0, [ADDED, DONE.format(1)], "10.3.3.3 255.255.255.255\n"),
    # --- expressions: *CHAR blank padding, *DEC precision, conversions -------------------
    ("char_is_padded_with_blanks", """
     PGM
       DCL &A *CHAR 5 VALUE('ab')
       SNDPGMMSG MSG('[' *CAT &A *CAT ']')
       SNDPGMMSG MSG('[' *CAT &A *TCAT ']')
       SNDPGMMSG MSG(&A *BCAT 'x')
       SNDPGMMSG MSG('[' || %TRIM('  c  ') || ']' |> 'y' |< '!')
       CHGVAR &A 'abcdefgh'
       SNDPGMMSG MSG(&A)
       IF (&A *EQ 'abcde   ') THEN(SNDPGMMSG MSG('equal with blanks'))
       CHGVAR %SST(&A 2 3) 'XY'
       SNDPGMMSG MSG('[' *CAT &A *CAT '] ' *CAT %SST(&A 1 2) *CAT %SUBSTRING(&A 5 1))
     ENDPGM""", None, 0,
     ["[ab   ]", "[ab]", "ab x", "[c] y!", "abcde", "equal with blanks", "[aXY e] aXe", DONE.format(0)],
     None),
    ("dec_precision_truncates_and_overflows", """
     PGM
       DCL &D *DEC (5 2)
       DCL &C *CHAR 8
       CHGVAR &D (10 / 3)
       SNDPGMMSG MSG(%CHAR(&D))
       CHGVAR &D 999.999
       SNDPGMMSG MSG(%CHAR(&D))
       CHGVAR &D (-12.5)
       CHGVAR &C &D
       SNDPGMMSG MSG(&C *CAT ' ' *CAT %CHAR(&D) *CAT ' ' *CAT %CHAR(%DEC('0.5' 3 2)))
       CHGVAR &D ' 42 '
       SNDPGMMSG MSG(%CHAR(&D + 0.01))
       CHGVAR &D 1000
     ENDPGM""", None, 1,
     ["3.33", "999.99", "-0012.50 -12.50 .50", "42.01", "MCH1210 Receiver value too small to hold result.",
      "CPF9999 Function check. MCH1210 unmonitored by T at statement 14."], None),
    ("int_and_uint_ranges", """
     PGM
       DCL &I *INT 2
       DCL &U *UINT 2
       CHGVAR &I 32767
       CHGVAR &I (&I / 2)
       SNDPGMMSG MSG(%CHAR(&I))
       CHGVAR &U (0 - 1)
       MONMSG MCH1210 EXEC(SNDPGMMSG MSG('no negative *UINT'))
       CHGVAR &I 'x1'
       MONMSG CPF0818 EXEC(SNDPGMMSG MSG('not a number'))
       CHGVAR &I (1 / 0)
       MONMSG MCH1211
     ENDPGM""", None, 0,
     ["16383", "MCH1210 Receiver value too small to hold result.", "no negative *UINT",
      "CPF0818 Value 'x1' for variable &I cannot be converted to a number.", "not a number",
      "MCH1211 Attempt made to divide by zero for fixed point operation.", DONE.format(0)], None),
    ("logical_operators", """
     PGM
       DCL &L *LGL
       DCL &N *DEC (3 0) VALUE(5)
       CHGVAR &L (&N *GT 3 *AND *NOT (&N = 4) *OR '0')
       IF &L THEN(SNDPGMMSG MSG('true'))
       IF (&N *LT 3 | &N *GE 5 & &N *NE 6) THEN(SNDPGMMSG MSG('precedence'))
       IF ('abc' *LT 'abd') THEN(SNDPGMMSG MSG('chars compare'))
     ENDPGM""", None, 0, ["true", "precedence", "chars compare", DONE.format(0)], None),
    # --- IF/ELSE, DO groups, nesting --------------------------------------------------------
    ("if_else_and_nesting", """
     PGM
       DCL &A *INT VALUE(1)
       DCL &B *INT VALUE(0)
       IF (&A = 1) THEN(IF (&B = 1) THEN(SNDPGMMSG MSG('a and b')))
       ELSE CMD(SNDPGMMSG MSG('a, not b'))
       IF (&A = 0) THEN(DO)
         SNDPGMMSG MSG('never')
       ENDDO
       ELSE CMD(IF (&B = 0) THEN(DO))
         SNDPGMMSG MSG('else-if')
         IF (&B = 0) THEN(SNDPGMMSG MSG('nested'))
       ENDDO
       ELSE CMD(SNDPGMMSG MSG('not this'))
     ENDPGM""", None, 0, ["a, not b", "else-if", "nested", DONE.format(0)], None),
    # --- loops: DOWHILE, DOUNTIL, DOFOR, LEAVE, ITERATE -----------------------------------
    ("loops_leave_and_iterate", """
     PGM
       DCL &I *INT
       DCL &J *INT
       DCL &S *CHAR 40
       DOWHILE (&I *LT 3)
         CHGVAR &I (&I + 1)
       ENDDO
       DOUNTIL '1'
         CHGVAR &S (&S *TCAT 'u')
       ENDDO
       OUTER: DOFOR VAR(&I) FROM(10) TO(1) BY(-3)
         DOFOR &J 1 3
           IF (&J = 2) THEN(ITERATE)
           IF (&I = 4) THEN(LEAVE OUTER)
           CHGVAR &S (&S *BCAT %CHAR(&I) *TCAT '.' *TCAT %CHAR(&J))
         ENDDO
       ENDDO
       SNDPGMMSG MSG(%TRIM(&S) *BCAT 'I=' *TCAT %CHAR(&I))
     ENDPGM""", None, 0, ["u 10.1 10.3 7.1 7.3 I=4", DONE.format(0)], None),
    ("select_when_otherwise", """
     PGM
       DCL &N *INT
       DOFOR &N 1 3
         SELECT
           WHEN (&N = 1) THEN(SNDPGMMSG MSG('one'))
           WHEN (&N = 2) THEN(DO)
             SNDPGMMSG MSG('two')
           ENDDO
           OTHERWISE CMD(SNDPGMMSG MSG('other'))
         ENDSELECT
       ENDDO
     ENDPGM""", None, 0, ["one", "two", "other", DONE.format(0)], None),
    # --- labels and GOTO loops (bounded by the program) ----------------------------------
    ("goto_loop_adds_entries", """
     PGM
       DCL &I *INT
     LOOP:
       CHGVAR &I (&I + 1)
       ADDSMTPLE *ACCEPT INTNETADR('10.4.0.' *TCAT %CHAR(&I))
       IF (&I *LT 3) THEN(GOTO CMDLBL(LOOP))
       GOTO END
       SNDPGMMSG MSG('skipped')
     END: ENDPGM""", None, 0, [ADDED, ADDED, ADDED, DONE.format(3)],
     "10.4.0.1 255.255.255.255\n10.4.0.2 255.255.255.255\n10.4.0.3 255.255.255.255\n"),
    # --- MONMSG scope ---------------------------------------------------------------------
    ("program_level_and_command_level_monmsg", """
     PGM
       DCL &N *INT
       MONMSG MSGID(TCP2650) EXEC(GOTO DUP)
       ADDSMTPLE *ACCEPT INTNETADR('10.5.0.1')
       ADDSMTPLE *ACCEPT INTNETADR('10.5.0.1')
       MONMSG TCP2600 EXEC(SNDPGMMSG MSG('command level wins'))
       ADDSMTPLE *ACCEPT INTNETADR('10.5.0.1')
       SNDPGMMSG MSG('not reached')
     DUP:
       SNDPGMMSG MSG('program level')
     ENDPGM""", None, 0,
     [ADDED, EXISTS, "command level wins", EXISTS, "program level", DONE.format(3)],
     "10.5.0.1 255.255.255.255\n"),
    ("cpf0000_catches_the_function_check", """
     PGM
       MONMSG CPF0000
       RMVSMTPLE *ACCEPT INTNETADR('10.6.0.1')
       SNDPGMMSG MSG('went on')
     ENDPGM""", None, 0,
     [MISSING, "CPF9999 Function check. TCP2651 unmonitored by T at statement 4.", "went on",
      DONE.format(1)], None),
    ("cmpdta_compares_the_message_data", """
     PGM
       RMVSMTPLE *ACCEPT INTNETADR('10.6.0.1')
       MONMSG TCP2651 CMPDTA('reject') EXEC(SNDPGMMSG MSG('not this one'))
       MONMSG TCP2651 CMPDTA('accept') EXEC(SNDPGMMSG MSG('accept list'))
       RMVSMTPLE *ACCEPT INTNETADR('10.6.0.1')
       MONMSG TCP2651 CMPDTA('reject')
     ENDPGM""", None, 1,
     [MISSING, "accept list", MISSING,
      "CPF9999 Function check. TCP2651 unmonitored by T at statement 6."], None),
    ("unmonitored_escape_ends_the_program", """
     PGM
       ADDSMTPLE *ACCEPT INTNETADR('10.7.0.1')
       RMVSMTPLE *ACCEPT INTNETADR('10.7.0.2')
       ADDSMTPLE *ACCEPT INTNETADR('10.7.0.3')
     ENDPGM""", None, 1,
     [ADDED, MISSING, "CPF9999 Function check. TCP2651 unmonitored by T at statement 4."],
     "10.7.0.1 255.255.255.255\n"),
    ("a_bad_value_in_a_variable_fails_when_it_runs", """
     PGM
       DCL &A *CHAR 20 VALUE('1234567890123456')
       ADDSMTPLE *ACCEPT INTNETADR(&A)
       MONMSG CPF0001 EXEC(SNDPGMMSG MSG('bad address'))
     ENDPGM""", None, 0,
     ["CPD0074 Value '1234567890123456' for INTNETADR exceeds 15 characters.",
      "CPF0001 Error found on ADDSMTPLE command.", "bad address", DONE.format(1)], ""),
    # --- SNDPGMMSG, RCVMSG, RTVJOBA ---------------------------------------------------------
    ("escape_to_the_caller_ends_the_program", """
     PGM
       SNDPGMMSG MSG('done soon') MSGTYPE(*COMP)
       SNDPGMMSG MSGID(CPF9898) MSGF(QCPFMSG) MSGDTA('Set-up failed') MSGTYPE(*ESCAPE)
       SNDPGMMSG MSG('not reached')
     ENDPGM""", None, 1, ["done soon", "CPF9898 Set-up failed."], None),
    ("rcvmsg_of_the_last_message", """
     PGM
       DCL &ID *CHAR 7
       DCL &TXT *CHAR 80
       DCL &SEV *DEC (2 0)
       RCVMSG MSGID(&ID)
       IF (&ID = ' ') THEN(SNDPGMMSG MSG('queue empty'))
       ADDSMTPLE *ACCEPT INTNETADR('10.8.0.1')
       RCVMSG MSGTYPE(*LAST) MSGID(&ID) MSG(&TXT) SEV(&SEV)
       SNDPGMMSG MSG(&ID *BCAT %TRIM(&TXT) *BCAT %CHAR(&SEV))
       ADDSMTPLE *ACCEPT INTNETADR('10.8.0.1')
       MONMSG TCP2650 EXEC(RCVMSG MSGTYPE(*EXCP) MSGID(&ID))
       SNDPGMMSG MSGID(TCP2650) MSGDTA('test list') MSGTYPE(*DIAG)
       SNDPGMMSG MSG('last escape ' *CAT &ID)
     ENDPGM""", None, 0,
     ["queue empty", ADDED, "TCP2660 SMTP list entry added. 0", EXISTS,
      "TCP2650 SMTP list entry already exists in the test list.", "last escape TCP2650",
      DONE.format(2)], None),
    ("rtvjoba_user_and_number", """
     PGM
       DCL &USER *CHAR 10
       DCL &NBR *CHAR 6
       DCL &DATE *CHAR 6
       RTVJOBA USER(&USER) NBR(&NBR) DATE(&DATE)
       IF (&USER *NE ' ' *AND %LEN(&NBR) = 6 *AND %SST(&DATE 1 1) *GE '0') THEN(+
         CHGSMTPA ALWRLY(*LIST))
     ENDPGM""", None, 0, ["TCP2662 SMTP attributes changed.", DONE.format(1)], None),
    # --- a plain script stays a plain script ---------------------------------------------
    ("plain_script", "ADDSMTPLE *ACCEPT INTNETADR('10.9.0.1')\nMONMSG TCP2650\n"
                     "ADDSMTPLE *ACCEPT INTNETADR('10.9.0.1')\n", None, 1,
     [ADDED, EXISTS, "QTS0001 Script t.clp ended at line 3: escape message TCP2650 not monitored."],
     "10.9.0.1 255.255.255.255\n"),
]


@pytest.mark.parametrize("source, parameters, status, out, accept", [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_program(qroot, source, parameters, status, out, accept):
    got_status, lines = run(source, parameters)
    assert lines == out
    assert got_status == status
    if accept is not None:
        assert member(qroot, "QATMADRLST", "ACCEPTRLY") == accept


# --- errors found when the program is checked: every one listed, nothing run ----------------

FIRST = "ADDSMTPLE *ACCEPT INTNETADR('10.10.0.1')\n"
CHECK_ERRORS = [
    ("undeclared_variable", "CHGVAR &X 1", ["CPD0727", "CPF0001"]),
    ("undeclared_in_a_command", "ADDSMTPLE *ACCEPT INTNETADR(&NOPE)", ["CPD0727", "CPF0001"]),
    ("label_too_long", "TOOLONGLABEL1: CHGSMTPA ALWRLY(*LIST)", ["QTS0020", "CPF0001"]),
    ("label_twice", "L1: DCL &A *INT\nL1: CHGVAR &A 1", ["QTS0021", "CPF0001"]),
    ("goto_nowhere", "GOTO NOWHERE", ["QTS0022", "CPF0001"]),
    ("enddo_missing", "DCL &I *INT\nDOWHILE (&I < 2)\nCHGVAR &I (&I + 1)", ["QTS0025"]),
    ("endselect_missing", "SELECT\nWHEN '1' THEN(GOTO X)\nX: CHGVAR",
     ["QTS0025", "QTS0024", "CPF0001", "QTS0024", "CPF0001"]),
    ("else_without_if", "ELSE CMD(CHGSMTPA)", ["QTS0024", "CPF0001"]),
    ("enddo_without_do", "ENDDO", ["QTS0024", "CPF0001"]),
    ("leave_outside_a_loop", "LEAVE", ["QTS0024", "CPF0001"]),
    ("dcl_after_a_command", "CHGSMTPA ALWRLY(*LIST)\nDCL &A *INT", ["QTS0024", "CPF0001"]),
    ("parentheses", "DCL &A *INT\nCHGVAR &A ((1 + 2)", ["CPD0013", "CPF0001"]),
    ("bad_expression", "DCL &A *INT\nCHGVAR &A (1 + * 2)", ["QTS0026", "CPF0001"]),
    ("char_plus_number", "DCL &A *INT\nCHGVAR &A ('x' + 1)", ["QTS0026", "CPF0001"]),
    ("logical_into_dec", "DCL &A *DEC\nCHGVAR &A (1 = 1)", ["QTS0026", "CPF0001"]),
    ("bad_declaration", "DCL &A *CHAR 0", ["CPD0085", "CPF0001"]),
    ("value_too_long", "DCL &A *CHAR 2 VALUE('abc')", ["QTS0027", "CPF0001"]),
    ("variable_twice", "DCL &A *INT\nDCL &A *CHAR", ["QTS0023", "CPF0001"]),
    ("selective_prompting", "CHGSMTPA ??ALWRLY(*LIST)", ["QTS1008", "CPF0001"]),
    ("prompting_in_a_plain_script", "?CHGSMTPA", ["QTS1008", "CPF0001"]),
    ("unknown_keyword_with_variables", "DCL &A *CHAR 15\nADDSMTPLE *ACCEPT INTNETADR(&A) FOO(1)",
     ["CPD0043", "CPF0001"]),
    ("bad_constant_with_variables", "DCL &A *CHAR 15\nADDSMTPLE TYPE(*BOGUS) INTNETADR(&A)",
     ["CPD0084", "CPF0001"]),
    ("program_level_monmsg_exec_do", "PGM\nMONMSG TCP2651 EXEC(DO)\nENDDO",
     ["QTS0024", "CPF0001", "QTS0024", "CPF0001"]),
    ("escape_without_msgid", "SNDPGMMSG MSG('x') MSGTYPE(*ESCAPE)", ["QTS0028", "CPF0001"]),
    ("unknown_msgid", "SNDPGMMSG MSGID(XYZ1234)", ["QTS0033", "CPF0001"]),
    ("monmsg_after_a_control_statement", "DO\nENDDO\nMONMSG CPF0000", ["QTS0024", "CPF0001"]),
    ("too_deep", "DO\n" * 26 + "ENDDO\n" * 26, ["QTS0024", "CPF0001"]),
    ("statement_after_endpgm", "PGM\nENDPGM\nCHGSMTPA", ["QTS0024", "CPF0001", "QTS0024", "CPF0001"]),
    ("dofor_needs_an_integer", "DCL &D *DEC\nDOFOR &D 1 2\nENDDO", ["QTS0026", "CPF0001"]),
    ("unknown_command", "DCL &A *INT\nRCVF", ["CPD0030", "CPF0001"]),
]


@pytest.mark.parametrize("body, expected", [r[1:] for r in CHECK_ERRORS],
                         ids=[r[0] for r in CHECK_ERRORS])
def test_errors_found_by_the_check_run_nothing(qroot, body, expected):
    status, lines = run(body + "\n" + FIRST)      # a good command after the bad ones
    assert status == 2
    assert lines[-1].startswith("QTS0005 Script t.clp not run")
    assert [line.split()[0] for line in lines[:-1]] == expected
    assert member(qroot, "QATMADRLST", "ACCEPTRLY") == ""


def test_every_bad_line_is_listed(qroot):
    status, lines = run("PGM\nCHGVAR &A 1\nADDSMTPLE *ACCEPT INTNETADR('10.1.1.1')\n"
                        "GOTO NOWHERE\nBAD: BAD: CHGSMTPA\nENDPGM\n")
    assert status == 2
    assert lines[-1] == "QTS0005 Script t.clp not run; commands in error: 3, the first at line 2."
    assert member(qroot, "QATMADRLST", "ACCEPTRLY") == ""


def test_parameters_must_match(qroot):
    status, lines = run("PGM PARM(&A)\nDCL &A *CHAR 5\nENDPGM\n", [])
    assert (status, lines) == (2, ["CPD0172 Parameters passed on CALL do not match those required.",
                                   "CPF0001 Error found on CALL command."])
    status, lines = run("CHGSMTPA ALWRLY(*LIST)\n", ["x"])
    assert status == 2 and lines[0].startswith("CPD0172")


def test_a_goto_loop_that_never_ends_is_stopped(qroot):
    status, lines = run("PGM\nLOOP: GOTO LOOP\nENDPGM\n", limit=1000)
    assert status == 1
    assert lines == ["QTS0030 Program T ended at line 2: more than 1000 statements run."]


def test_parameter_values_are_stored_by_the_variable_rules(qroot):
    status, lines = run("PGM PARM(&A &N)\nDCL &A *CHAR 3\nDCL &N *DEC (5 1)\n"
                        "SNDPGMMSG MSG('[' *CAT &A *CAT '] ' *CAT %CHAR(&N))\nENDPGM\n",
                        ["abcdef", "12.34"])
    assert lines[0] == "[abc] 12.3"
    status, lines = run("PGM PARM(&N)\nDCL &N *DEC (5 1)\nENDPGM\n", ["twelve"])
    assert status == 2 and lines[0].startswith("CPF0818")
