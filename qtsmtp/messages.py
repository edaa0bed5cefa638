"""IBM-style messages: an ID, a severity, a first-level text with &1..&n substitutions.

Every outcome a user sees, good or bad, is one of these. IDs marked IBM are the ones
IBM i uses for the same situation (IBM's message descriptions); the others are qtsmtp's
own, documented in qtsmtp-messages(7). The TCP family holds the SMTP-specific messages,
QTS the ones about qtsmtp itself (scripts, option form, data root).
"""

from __future__ import annotations

import sys

# Message types, as IBM i names them.
COMPLETION, DIAGNOSTIC, ESCAPE, INFORMATIONAL = "*COMP", "*DIAG", "*ESCAPE", "*INFO"

# id: (severity, first-level text)
CATALOGUE: dict[str, tuple[int, str]] = {
    # --- CL syntax and binding (CPD diagnostics, CPF escapes) ---------------------------
    "CPD0003": (30, "Too many positional values specified; &1 allows &2."),
    "CPD0004": (30, "Positional value &1 not allowed after a keyword parameter."),
    "CPD0007": (30, "Required parameter &1 omitted."),
    "CPD0012": (30, "Keyword &1 specified more than once."),
    "CPD0013": (30, "Parentheses not balanced."),
    "CPD0015": (30, "Lists nested deeper than 3 levels."),
    "CPD0016": (30, "Closing apostrophe missing in string &1."),
    "CPD0017": (30, "Comment not ended."),
    "CPD0018": (30, "String '&1' contains a character that is not valid."),   # IBM
    "CPD0020": (30, "Character '&1' not valid following string '&2'."),       # IBM
    "CPD0028": (30, "More than &2 values specified for parameter &1."),
    "CPD0029": (30, "More than &2 elements specified in list for parameter &1."),
    "CPD0030": (30, "Command &1 in library &2 not found."),                  # IBM
    "CPD0031": (30, "Command name missing."),
    "CPD0040": (30, "Command exceeds the maximum length of 32702 characters."),
    "CPD0043": (30, "Keyword &1 not valid for this command."),               # IBM
    "CPD0072": (30, "List item value for parameter &1 required."),           # IBM (field report)
    "CPD0074": (30, "Value '&1' for &2 exceeds &3 characters."),             # IBM
    "CPD0078": (30, "Value '&1' for parameter &2 not a valid name."),        # IBM (meaning)
    "CPD0083": (30, "Single value &1 not valid in a list for parameter &2."),
    "CPD0084": (30, "&1 not valid for parameter &2."),                       # IBM (meaning)
    "CPD0085": (30, "Value &1 for parameter &2 not in range &3 to &4."),
    "CPD0086": (30, "Value '&1' for parameter &2 not a valid number."),
    "CPF0001": (30, "Error found on &1 command."),                           # IBM
    "CPF0006": (30, "Errors occurred in command."),                          # IBM
    # --- CL programs: the check before a program runs, and its run ------------------------
    "CPD0172": (30, "Parameters passed on CALL do not match those required."),  # IBM (meaning)
    "CPD0727": (30, "Variable &1 is referred to but not declared."),         # IBM
    "CPF0818": (40, "Value '&1' for variable &2 cannot be converted to a number."),  # IBM (meaning)
    "CPF9898": (40, "&1."),                                                  # IBM
    "CPF9999": (40, "Function check. &1 unmonitored by &2 at statement &3."),  # IBM (meaning)
    "MCH1210": (40, "Receiver value too small to hold result."),            # IBM
    "MCH1211": (40, "Attempt made to divide by zero for fixed point operation."),  # IBM
    # --- SMTP list entries and attributes (TCP) -----------------------------------------
    "TCP1901": (30, "Internet address &1 not valid."),                        # IBM family
    "TCP1902": (30, "Subnet mask &1 not valid: &2."),
    "TCP1903": (30, "IPv6 address &1 not valid."),
    "TCP1904": (30, "IPv6 prefix length &1 not valid; it must be 0 to 128."),
    "TCP1905": (30, "Host name &1 not valid: &2."),
    "TCP1906": (30, "&1 is an IPv6 address; list type &2 takes IPv4 addresses (use &3)."),
    "TCP1907": (30, "&1 is an IPv4 address; list type &2 takes IPv6 addresses (use &3)."),
    "TCP1908": (30, "Value for &1 contains a character that is not valid."),
    "TCP1909": (30, "Record '&1' has &2 fields; &3 expected."),
    "TCP2650": (40, "SMTP list entry already exists in the &1."),
    "TCP2651": (40, "SMTP list entry not found in the &1."),
    "TCP2652": (30, "Parameter &1 not valid for list type &2."),
    "TCP2653": (30, "Parameter &1 required for list type &2."),
    "TCP2660": (0, "SMTP list entry added."),
    "TCP2661": (0, "SMTP list entry removed."),
    "TCP2662": (0, "SMTP attributes changed."),
    "TCP2663": (20, "ALWRLY(*ALL) makes this system an open relay: any client may send mail "
                    "through it to any domain."),
    "TCP2665": (30, "Change stored; server job &1 did not confirm it within &2 seconds."),
    "TCP2666": (30, "Change stored; server job &1 did not apply it and keeps its last good "
                    "relay policy: &2"),
    "TCP2670": (40, "Member &1 file &2 in library &3 not valid at record &4: &5."),
    "TCP2671": (20, "Member &1 file &2 in library &3 not valid at record &4: &5; the "
                    "record is not an entry and was passed over."),
    "TCP2672": (0, "Record &1 of member &2, not a valid entry, removed."),
    "TCP2673": (20, "&1 more records of member &2 file &3 in library &4 are not valid "
                    "entries and were passed over; WRKSMTPLE TYPE(&5) shows them."),
    "TCP2674": (20, "No job or subsystem name starts with &1."),
    "TCP2675": (10, "Record &1 at the end of member &2 file &3 in library &4 removed: the "
                    "command that was adding it ended during its write."),
    "TCP2676": (20, "Member &1 file &2 in library &3, changed without a command, is not "
                    "read yet: &4; what was in use stays in use until it is finished."),
    "TCP2677": (40, "Member &1 file &2 in library &3 is still being written: &4; the server "
                    "does not start on it. Start it when the edit is finished."),
    "TCP2678": (10, "Member &1 file &2 in library &3 is still being written: &4; the start "
                    "waits up to &5 seconds for it."),
    "TCP2680": (0, "Relay test: client &1 may send to every recipient given (&2)."),
    "TCP2681": (40, "Relay test: client &1 refused for &2 of &3 recipients."),
    "TCP2682": (40, "Relay test: client &1 refused at connect."),
    "TCP2690": (30, "Record of &1 longer than the &2 characters a record may have."),
    "TCP2691": (40, "&1 not changed: &2; it is as it was before the command."),
    "TCP2692": (40, "Entry &1 not added to the &2: &3."),
    "TCP2693": (40, "Value of &1 not stored: &2."),
    "TCP2695": (40, "&1 is owned by user &2, not by the server's user &3 or root; the server "
                    "does not use it."),
    "TCP2694": (20, "Entry &1 of the &2 opens the relay to the world: when ALWRLY uses this "
                    "list, &3."),
    # Attributes and list types that cannot act on this system (config.attrstatus).
    "TCP2700": (20, "&1 stored; it has no effect here: the only user directory is the SMTP "
                    "directory of ADDUSRSMTP (*SMTP); there is no system distribution "
                    "directory or mail server framework."),
    "TCP2701": (20, "&1 stored; it has no effect here: it belongs to the system distribution "
                    "directory, which qtsmtp does not have; enrol users with ADDUSRSMTP."),
    "TCP2702": (20, "&1 stored; it has no effect here: mail is kept and sent as the bytes "
                    "received, never converted between EBCDIC and ASCII; a message's MIME "
                    "charset names its character set."),
    "TCP2703": (20, "&1 stored; it has no effect here: qtsmtp has no mail server framework; "
                    "an exit program (ADDEXITPGM) can check or refuse mail."),
    "TCP2704": (20, "&1 stored; it has no effect here: there are no dial-up connection "
                    "profiles; the client job delivers as soon as mail is queued and retries "
                    "as RTYMIN, RTYHOUR and RTYDAY say."),
    "TCP2705": (20, "&1 stored; it has no effect here: make a domain local with ADDSMTPLE "
                    "TYPE(*DOMAIN); the server greets with SYSNAME on every interface."),
    "TCP2706": (20, "&1 stored; it has no effect here: the relay decision always looks "
                    "through a % in a local part (RFC 2505), whatever PCTRTGCHR says; address "
                    "mail to its final domain."),
    "TCP2707": (20, "&1 stored; it has no effect here: the SMTP jobs are processes shown in "
                    "subsystem QSYSWRK; there is no other subsystem to run them in."),
    "TCP2708": (20, "&1 stored; it has no effect here: qtsmtp has no POP server, so no POP "
                    "logon opens a relay window; let clients that log on with SMTP AUTH "
                    "relay with ALWAUTH(*RELAY)."),
    "TCP2709": (20, "&1 stored; it has no effect here: with no POP relay window no client is "
                    "let past the reject list; take the client out of it with RMVSMTPLE."),
    "TCP2720": (20, "&1 stored; it has no effect here: SNDSMTPEMM and the submission queue "
                    "always check that the sender is the submitting user's address."),
    "TCP2730": (20, "Entry stored in the &1, which has no effect yet: &2."),
    "TCP2740": (10, "COLDSTART(*YES): &1 messages waiting in &2 discarded at start."),
    "TCP2742": (0, "&1 ETRN &2: &3 deferred messages made due now (*ETRNSVR entry &4)."),
    "TCP2743": (20, "&1 ETRN &2 refused: &3."),
    "TCP2744": (0, "ETRN &1 to mail hub &2: &3."),
    "TCP2741": (20, "Message &1 to &2 returned: kept the most days KEEPUNTIL allows (&3); "
                    "last reply &4."),
    "TCP8051": (40, "Not authorized to change &1 (&2)."),
    "TCP8052": (40, "&1 could not be read or changed: &2."),
    "TCP9999": (40, "Internal system error in program &1."),                 # IBM family
    "TCP9001": (40, "SMTP server job &1 ending: &2 jobs ended &3 times and none stayed up "
                    "&4 seconds in &5 seconds; start the server again once the cause is "
                    "found."),
    "TCP9003": (40, "SMTP server cannot start: &1: &2."),
    "TCP9004": (10, "&1 files left in queue/tmp by writers that ended without finishing "
                    "were removed."),
    "TCP9002": (20, "No process could be started to replace job &1: &2; tried again later."),
    # --- qtsmtp itself (QTS) ------------------------------------------------------------
    "QTS0001": (40, "Script &1 ended at line &2: escape message &3 not monitored."),
    "QTS0002": (0, "Script &1 completed; commands run: &2."),
    "QTS0003": (40, "Script file &1 cannot be read: &2."),
    "QTS0005": (40, "Script &1 not run; commands in error: &2, the first at line &3."),
    "QTS0006": (40, "&1 is valid only in a CL script run with qtsmtp run."),
    "QTS0020": (30, "Label &1 not valid: a label is 1 to 10 characters, the first A-Z, $, # or @."),
    "QTS0021": (30, "Label &1 defined more than once."),
    "QTS0022": (30, "Label &1 not defined in the program."),
    "QTS0023": (30, "Variable &1 declared more than once."),
    "QTS0024": (30, "&1 not valid here: &2."),
    "QTS0025": (30, "&1 missing for the &2 command at line &3."),
    "QTS0026": (30, "Expression not valid: &1."),
    "QTS0027": (30, "Declaration of &1 not valid: &2."),
    "QTS0028": (30, "SNDPGMMSG MSGTYPE(&1) needs MSGID; MSG is for *INFO, *COMP and *DIAG messages."),
    "QTS0030": (40, "Program &1 ended at line &2: more than &3 statements run."),
    "QTS0031": (40, "%SST start &1 and length &2 not within the &3 characters of its value."),
    "QTS0032": (40, "Value '&1' is not a logical value: '0' or '1' expected."),
    "QTS0033": (40, "Message identifier &1 not found in the message catalogue."),
    "QTS0010": (30, "Option &1 needs a value."),
    "QTS0011": (30, "Option form and CL form cannot be mixed: &1."),
    "QTS0012": (40, "Data root &1 not usable: &2."),
    "QTS0013": (30, "Option &1 does not take a value."),
    "QTS0014": (30, "Shell &1 not supported for completion; give bash, zsh or fish."),
    # --- server and jobs (STRTCPSVR, ENDTCPSVR, WRKACTJOB, the QTSMTP job logs) ---------
    "TCP3001": (0, "SMTP server started: job &1, &2 server jobs, listening on &3 port &4."),
    "TCP3002": (40, "SMTP server already active: job &1 (process &2)."),
    "TCP3003": (0, "SMTP server ended: job &1."),
    "TCP3004": (40, "SMTP server not active."),
    "TCP3005": (40, "SMTP server did not start: &1"),
    "TCP3006": (40, "SMTP server cannot listen on &1 port &2: &3."),
    "TCP3007": (0, "No server has AUTOSTART(*YES); no server started."),
    "TCP3008": (40, "SMTP server job &1 did not end within &2 seconds."),
    "TCP3010": (0, "Job &1 started in subsystem &2 (process &3)."),
    "TCP3011": (0, "Job &1 ended: &2."),
    "TCP3012": (20, "Job &1 ended abnormally (&2); job &3 started in its place."),
    "TCP3013": (20, "Job &1 ended abnormally (&2); &3 jobs ended in the last &4 seconds, "
                    "a new job starts in &5 seconds."),
    "TCP3014": (0, "Ending: &1 sessions asked to end, &2 in DATA allowed &3 seconds to finish."),
    "TCP3015": (20, "&1 sessions still active after &2 seconds were ended with 421."),
    "TCP3020": (0, "Relay policy loaded: ALWRLY(&1), system name &2, entries &3."),
    "TCP3021": (20, "Relay policy not reloaded; the last good policy stays in use: &1"),
    "TCP3022": (0, "Relay policy reloaded: ALWRLY(&1), entries &2."),
    "TCP3023": (20, "Member &1 file &2 in library &3 changed without a command; it is read again."),
    "TCP3024": (20, "Change journal generation &1 does not account for the members (&2); "
                    "the relay policy is compiled from the members again."),
    "TCP3030": (0, "Listening on &1 port &2."),
    "TCP3040": (0, "Queue: &1 messages waiting in &2."),
    "TCP3041": (40, "Queue commit process cannot start: &1."),
    "TCP3042": (20, "Queue commit process ended (&1); a new one was started."),
    "TCP3050": (0, "&1 &2"),
    "TCP3051": (0, "&1 session started, HELO name not yet given."),
    "TCP3052": (0, "&1 message &2 queued: from <&3>, &4 recipients, &5 bytes."),
    "TCP3053": (40, "&1 message not queued: &2."),
    "TCP3054": (0, "&1 session ended."),
    # --- hostile clients (qtsmtp-server(8), "Hostile clients") -------------------------
    "TCP3060": (30, "&1 message refused after &2 octets: &3"),
    "TCP3061": (20, "&1 message &2: &3 line breaks put in lines longer than 998 octets."),
    "TCP3062": (30, "&1 &2 refused: a control character in its argument."),
    "TCP3063": (20, "&1 session closed after &2 seconds without a command: 421 sent."),
    "TCP3064": (30, "&1 refused: this server job serves &2 sessions, its most."),
    "TCP3065": (30, "&1 refused: &2 connections from this address this minute, MAXCLTRATE &3."),
    "TCP3066": (30, "&1 AUTH refused: &2 failures from this address within &3 seconds."),
    "TCP3080": (40, "Queue file &1 is in &2/tmp and queued under the same name as one file "
                    "counted once: the file system was not checked after a crash. Neither is "
                    "removed; run e2fsck on it."),
    "TCP3081": (20, "Queue FIFO &1 was removed or replaced; the delivery job now waits on the "
                    "one there."),
    "TCP3095": (20, "&1 session closed after &2 seconds in its STARTTLS handshake."),
    # --- panels, command line and prompter (WRKSMTPLE, WRKACTJOB, qtsmtp, --prompt) ----
    "QTS1001": (30, "Option &1 not valid here; the options are &2."),
    "QTS1002": (20, "Already at the top of the list."),
    "QTS1003": (20, "Already at the bottom of the list."),
    "QTS1004": (30, "Function key &1 not allowed on this display."),
    "QTS1005": (20, "No previous command to retrieve."),
    "QTS1006": (30, "Selective prompt characters &1 not valid for keyword &2."),
    "QTS1007": (30, "Selective prompting ?- for &1 needs ? before the command name."),
    "QTS1008": (40, "&1 needs a terminal to prompt; give the parameters instead."),
    "QTS1009": (40, "Command prompting ended when user pressed &1."),
    "QTS1010": (20, "Command history &1 not written: &2."),
    "QTS1011": (20, "No option typed above the cursor to repeat."),
    "QTS1012": (20, "No entry starts with &1."),
    "TCP4001": (0, "Job &1 held."),
    "TCP4002": (0, "Job &1 released."),
    "TCP4003": (0, "Job &1 ended."),
    "TCP4004": (20, "Job &1 asked to end; it is still ending."),
    "TCP4005": (30, "Job &1 already held."),
    "TCP4006": (30, "Job &1 not held."),
    "TCP4007": (40, "Job &1 no longer active."),
    "TCP4008": (40, "Job &1 cannot be signalled: &2."),
    "TCP4009": (0, "Job &1 changed."),
    "TCP4010": (20, "Subsystem &1 not active."),
    "TCP4011": (40, "Job &1 not changed: &2."),
    "TCP4012": (20, "Response time limit &1: the qtsmtp jobs are batch jobs, with no "
                    "response time; none is shown."),
    "TCP4013": (20, "INTERVAL is the display's automatic refresh; OUTPUT(&1) does not use it."),
    "TCP4015": (20, "No messages of job &1 need attention."),
    "TCP4017": (20, "Job &1 has no job log."),
    "TCP4018": (0, "Job &1 asked to end; it is ended at once if it still runs after &2 seconds."),
    # --- delivery and submission (QTSMTPCLTD, SNDSMTPEMM, *USRSMTP, WRKSMTPQ, runqueue) -
    "TCP5010": (0, "Message &1 delivered to &2 by &3: &4."),
    "TCP5011": (10, "Message &1 to &2 deferred: &3; next attempt &4."),
    "TCP5012": (20, "Message &1 to &2 failed: &3."),
    "TCP5013": (20, "Message &1 to &2 failed after &3 attempts; retries spent: &4."),
    "TCP5014": (0, "Message &1: delivery status notification to <&2> queued as &3 for &4 recipients."),
    "TCP5015": (10, "Message &1 from <> failed for &2 recipients; no notification is sent to <>."),
    "TCP5020": (30, "Queue file &1 not valid, moved to corrupt/: &2."),
    "TCP5021": (30, "Submission &1 refused, moved to corrupt/: &2."),
    "TCP5030": (0, "&1 submissions picked up from the submission queue."),
    "TCP5031": (0, "Delivery run ended: &1 recipients delivered, &2 messages deferred, &3 recipients failed."),
    "TCP5032": (0, "E-mail queued as &1 for &2 recipients, from &3."),
    "TCP5033": (40, "User profile &1 has no SMTP e-mail address; enrol it with ADDUSRSMTP."),
    "TCP5034": (40, "Attachment &1 cannot be read: &2."),
    "TCP5035": (40, "Content type &1 not valid; give type/subtype or *DFT."),
    "TCP5036": (40, "Recipient &1 not valid: &2."),
    "TCP5037": (0, "Queue run ended: &1 submissions picked up, &2 recipients delivered, &3 messages deferred, &4 recipients failed."),
    "TCP5038": (0, "Client job QTSMTPCLTD is active; it was asked to deliver now."),
    "TCP5039": (40, "Message &1 not found in the SMTP queue."),
    "TCP5040": (0, "&1 messages in the SMTP queue."),
    "TCP5041": (40, "Alias &1 not valid: it must be a local part without blanks, @, <, > or quotes."),
    "TCP5042": (40, "User profile &1 already has an SMTP e-mail address."),
    "TCP5043": (0, "User profile &1 added to SMTP as &2."),
    "TCP5044": (40, "User profile &1 not found in the SMTP user directory."),
    "TCP5045": (0, "SMTP e-mail address of user profile &1 changed to &2."),
    "TCP5046": (0, "User profile &1 removed from SMTP."),
    "TCP5050": (10, "Message &1: &2 notification not sent to <&3>: client &4 was not trusted for that sender."),
    "TCP5051": (10, "Message &1: &2 notification not sent to <&3>: NFYDLVRY notifies no sender."),
    "TCP5052": (0, "Message &1: copy of the failure notification queued for the responsible person <&2> as &3."),
    "TCP5053": (0, "Message &1 to &2: &3, no notification asked for (NOTIFY=&4)."),
    # --- security and control: AUTH users, exit point, TLS, limits, PROXY ----------------
    "TCP6001": (40, "User name &1 not valid: 1 to 64 printable characters, no blanks, quotes or backslashes."),
    "TCP6002": (40, "Password not valid: it must be 1 to &1 characters without NUL."),
    "TCP6003": (40, "SMTP authentication user &1 already exists."),
    "TCP6004": (0, "SMTP authentication user &1 added."),
    "TCP6005": (40, "SMTP authentication user &1 not found."),
    "TCP6006": (0, "Password of SMTP authentication user &1 changed."),
    "TCP6007": (0, "SMTP authentication user &1 removed."),
    "TCP6010": (40, "Exit point &1 format &2 not provided; qtsmtp provides &3."),
    "TCP6011": (40, "Exit program &1 not valid: give package.module:function, /path/to/program, policy:inet:host:port or policy:unix:/path."),
    "TCP6012": (40, "Program data must not contain tabs, line ends or NUL characters."),
    "TCP6013": (40, "Exit program number &1 already registered at &2; give REPLACE(*YES) to replace it."),
    "TCP6014": (40, "Exit point &1 already has &2 exit programs, the most it allows."),
    "TCP6015": (0, "Exit program &1 added as number &2 of exit point &3."),
    "TCP6016": (40, "Exit program number &1 not registered at &2."),
    "TCP6017": (0, "&1 exit programs removed from exit point &2."),
    "TCP6018": (0, "&1 exit programs listed."),
    "TCP6020": (20, "&1 exit program &2 number &3 at &4: &5; default action &6 used."),
    "TCP6021": (30, "Exit program &1 number &2 not loaded: &3."),
    "TCP6022": (0, "&1 exit program number &2 rejected &3: &4."),
    "TCP6023": (30, "Exit programs not reloaded: &1; the previous ones stay in use."),
    "TCP6024": (0, "Exit programs reloaded: &1 programs for new connections."),
    "TCP6080": (0, "Exit program &1 number &2 active: new connections call it."),
    "TCP6081": (0, "Exit program &1 number &2 held: new connections do not call it."),
    "TCP6082": (0, "Exit program &1 number &2 released: new connections call it again."),
    "TCP6083": (0, "Exit program number &1 replaced by &2 for new connections."),
    "TCP6084": (20, "&1 exit program &2 number &3 did not answer &4 within &5 ms; default action &6 used."),
    "TCP6085": (0, "Exit program &1 number &2 removed: new connections do not call it."),
    "TCP6086": (30, "Exit program &1 number &2: all &3 threads held by calls past their time budget; calls get default action &4 at once until one returns."),
    "TCP6087": (20, "Exit program &1 number &2 took more than &3 ms on the server job's event loop; its calls run in its threads from now on."),
    "TCP6088": (0, "Exit program &1 number &2 answered &3 calls in a row within &4 ms each; its calls run on the server job's event loop from now on."),
    "TCP6090": (0, "&1 exit programs held at exit point &2."),
    "TCP6091": (0, "&1 exit programs released at exit point &2."),
    "TCP6092": (40, "Exit program number &1 at &2 already held."),
    "TCP6093": (40, "Exit program number &1 at &2 not held."),
    "TCP6094": (0, "Exit program number &1 stays held; RLSEXITPGM releases it."),
    "TCP6095": (0, "Queue runner: client job QTSMTPCLTD is running and delivers; nothing done."),
    "TCP6096": (0, "Queue runner: next run at &1 (every &2 minutes, RUNQINTV); nothing done."),
    "TCP6097": (30, "Submission &1 by user &2 refused by an exit program: &3; the submitter is notified."),
    "TCP6098": (20, "Submission &1 by user &2 deferred by an exit program: &3; it stays in the maildrop for the next run."),
    "TCP6030": (40, "TLS certificate or key &1 not usable: &2."),
    "TCP6031": (40, "Secret file &1 can be read or written by other users (mode &2); make it 0600."),
    "TCP6032": (40, "&1 can be written by every user; the server does not start on it."),
    "TCP6034": (0, "&1 authenticated as &2 with &3."),
    "TCP6035": (20, "&1 authentication failed for user &2; failures from this client: &3."),
    "TCP6036": (30, "&1 dropped after &2 failed authentications."),
    "TCP6037": (30, "&1 refused: listed by DNS blocklist &2."),
    "TCP6038": (20, "DNS blocklists &1 did not answer for &2 in time; not counted as listed."),
    "TCP6039": (30, "&1 refused: &2 sessions from this client already, the most allowed."),
    "TCP6040": (40, "Profile name &1 not valid."),
    "TCP6041": (40, "Profile &1 can never match: submission resources begin &2."),
    "TCP6042": (40, "Submission profile &1 already exists; give REPLACE(*YES) to replace it."),
    "TCP6043": (0, "Submission profile &1 added with access &2."),
    "TCP6044": (40, "Submission profile &1 not found."),
    "TCP6045": (0, "Submission profile &1 removed."),
    "TCP6046": (0, "&1 submission profiles listed."),
    "TCP6047": (0, "Submission resource &1: access &2, decided by &3."),
    "TCP6048": (30, "Submission &1 by user &2 refused: resource &3 denied by profile &4; the submitter is notified."),
    "TCP6050": (30, "&1 PROXY header not valid: &2; connection closed."),
    "TCP6051": (30, "&1 dropped after &2 commands that were not valid."),
    "TCP6052": (0, "Listening for &1 on &2 port &3."),
    # --- mail filters, quarantine and the SMTP journal ------------------------------------
    "TCP7000": (10, "Message &1 from &2 <&3> kept in the quarantine: &4."),
    "TCP7001": (10, "Message &1 from &2 <&3> discarded by FTRACN(*REJECTMAIL): &4."),
    "TCP7002": (10, "Message from &1 <&2> refused at end of DATA by FTRACN(*REFUSE): &3."),
    "TCP7003": (30, "Message &1 not kept in the quarantine: &2."),
    "TCP7005": (30, "Mail filter lists not read: &1; the last good filters stay in use."),
    "TCP7006": (0, "Mail filters read: &1 entries."),
    "TCP7007": (10, "Filter entries have no effect while FTRACN is *NONE; set CHGSMTPA FTRACN(*KEEP), FTRACN(*REJECTMAIL) or FTRACN(*REFUSE)."),
    "TCP7010": (0, "&1 messages in the quarantine."),
    "TCP7011": (0, "Message &1 released from the quarantine to the SMTP queue."),
    "TCP7012": (0, "Message &1 deleted from the quarantine."),
    "TCP7013": (40, "Message &1 not found in the quarantine."),
    "TCP7020": (0, "&1 SMTP journal entries shown."),
    "TCP7021": (40, "Value '&1' for &2 not a valid time; give YYYY-MM-DD, YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS (UTC)."),
    "TCP7022": (10, "JOURNAL is *NO: SMTP events are not being journalled; set CHGSMTPA JOURNAL(*YES)."),
    "TCP7023": (40, "FROMTIME &1 is later than TOTIME &2."),
}

# Which messages are escape messages when raised by a processing program.
_SEVERITY_ESCAPE = 40


# What a message quotes is shown, never obeyed: a value from a member, a client or a file
# may be huge or hold bytes a terminal or a log reader would act on (ESC, NUL, CR, LF).
# Message and the job log format everything here, so nothing reaches them raw.
MAX_QUOTED = 512                      # characters of one substituted value
_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


# Latin-1 (the controls C0, DEL, C1 and U+00A0, U+00AD -> their escapes, every other
# character -> itself: translate finds each, no miss to handle) and the undecodable
# bytes (surrogateescape) -> their escapes: made when first needed, never more (see
# printable).
_ESCAPES: dict[int, str] = {}


def _escaped(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"        # a byte that was not UTF-8
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character str.isprintable refuses written as an escape: the
    controls (C0, DEL, C1) as \\r, \\n, \\t, \\xNN; an undecodable byte (a surrogate
    of surrogateescape) as \\xNN; the rest as \\uNNNN: a lone surrogate, the line and
    paragraph separators U+2028 and U+2029 (str.splitlines breaks a line at them), the
    format characters that turn text around on a terminal (U+202E), spaces other than
    the space. What is left reads as it shows, on one line."""
    # Most texts are printable, and pass with one call in C. (No regular expression:
    # re costs every CL command's start about 5 ms.)
    if text.isprintable():
        return text
    # The controls from a fixed table, in C; whatever else is left (rare: U+2028, U+202E,
    # an undecodable byte, an unassigned code point) from a table of that text's own, each
    # distinct character asked once. A table that kept what clients sent would fill with
    # one client's characters and look up every other one in Python, in every line after.
    if not _ESCAPES:
        # Made whole, then put in at once (dict.update of a dict, in C): a server job's
        # other thread never translates with half of it.
        _ESCAPES.update({code: char if char.isprintable() else _escaped(char) for code, char in
                         ((code, chr(code)) for code in (*range(0x100), *range(0xDC80, 0xDD00)))})
    text = text.translate(_ESCAPES)
    if text.isprintable():
        return text
    return _escape_the_rest(text)


def _escape_the_rest(text: str) -> str:
    """``text`` (no control in it) with each other character str.isprintable refuses as
    \\xNN, \\uNNNN or \\UNNNNNNNN: what the unicode_escape codec writes for each (one
    backslash, at its start), all worked out in C, each distinct character once."""
    from itertools import filterfalse           # only on this rare path
    refused = list(filterfalse(str.isprintable, set(text)))
    escapes = "".join(refused).encode("unicode_escape").decode("ascii").split("\\")[1:]
    table = dict(zip(map(ord, refused), map("\\".__add__, escapes)))
    if len(_ESCAPES) + len(table) <= _ESCAPES_KEPT:
        # Kept for the next text: only characters printable refuses, never another,
        # so a client that sends many fills this and costs no other text anything.
        _ESCAPES.update(table)
    return text.translate(table)


_ESCAPES_KEPT = 4096


def question_marked(text: str) -> str:
    """``text`` with each character str.isprintable refuses as "?": for a place where an
    escape would not do (a header line, an SMTP reply, a field shown in a column), so
    that no CR or LF adds a line and nothing there is obeyed by a terminal."""
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


def quoted(value) -> str:
    """One value as a message shows it: printable, and at most MAX_QUOTED characters
    (the rest counted, not shown)."""
    text = str(value)
    if len(text) > MAX_QUOTED:
        text = f"{text[:MAX_QUOTED]}... ({len(text) - MAX_QUOTED} more characters)"
    return printable(text)


def expand(text: str, data: tuple[str, ...]) -> str:
    # Replace the higher numbers first so &1 does not eat the start of &10.
    for n in range(len(data), 0, -1):
        text = text.replace(f"&{n}", str(data[n - 1]))
    return text


class Message:
    """One message as sent: ID, type, the substituted text, and an optional second level."""

    __slots__ = ("id", "type", "data", "detail")

    def __init__(self, msgid: str, *data, type: str | None = None, detail: str = ""):
        self.id = msgid
        self.data = tuple(quoted(d) for d in data)
        severity = CATALOGUE[msgid][0]
        if type is None:
            type = (COMPLETION if severity == 0 else INFORMATIONAL if severity < 30
                    else ESCAPE if severity >= _SEVERITY_ESCAPE else DIAGNOSTIC)
        self.type = type
        self.detail = printable(detail)

    @property
    def severity(self) -> int:
        return CATALOGUE[self.id][0]

    @property
    def text(self) -> str:
        return expand(CATALOGUE[self.id][1], self.data)

    def __str__(self) -> str:
        return f"{self.id} {self.text}"

    def __repr__(self) -> str:
        return f"Message({self.id!r}, {self.text!r})"


class CLError(Exception):
    """A command ended with an escape message, after zero or more diagnostics.

    ``messages`` lists them in the order sent; the last is the escape message that
    MONMSG monitors.
    """

    def __init__(self, messages: list[Message]):
        super().__init__("; ".join(str(m) for m in messages))
        self.messages = messages

    @property
    def escape(self) -> Message:
        return self.messages[-1]


def escape(msgid: str, *data, detail: str = "") -> CLError:
    """An escape message on its own (for processing programs): ``raise escape(...)``."""
    return CLError([Message(msgid, *data, type=ESCAPE, detail=detail)])


def monitors(generic: str, msgid: str) -> bool:
    """Does MONMSG MSGID(generic) catch msgid? CPF0000 = all CPF, CPF2100 = all CPF21xx."""
    generic, msgid = generic.upper(), msgid.upper()
    if generic[3:] == "0000":
        return msgid[:3] == generic[:3]
    if generic[5:] == "00":
        return msgid[:5] == generic[:5]
    return msgid == generic


def send(messages: list[Message], out=None, err=None) -> None:
    """Completion messages to standard output, everything else to standard error."""
    out = out or sys.stdout
    err = err or sys.stderr
    # One write for each run of messages to one stream, not one per line: a script
    # reports a thousand at a time, and with PYTHONUNBUFFERED each write is a system call.
    stream, lines = None, []
    for message in messages:
        to = out if message.type == COMPLETION else err
        if to is not stream and lines:
            _write(stream, "".join(lines))
            lines = []
        stream = to
        lines.append(f"{message}\n")
        if message.detail:
            lines.append(f"  {message.detail}\n")
    if lines:
        _write(stream, "".join(lines))


def _write(stream, text: str) -> None:
    # A stream closed before the command started (addsmtple ... >&-) is None in Python:
    # its messages go nowhere, as the caller asked; the exit status still tells.
    if stream is not None:
        stream.write(text)
