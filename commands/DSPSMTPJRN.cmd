/*********************************************************************/
/* DSPSMTPJRN - Display SMTP Journal (a qtsmtp command)              */
/*********************************************************************/
             CMD        PROMPT('Display SMTP Journal') PGM('qtsmtp.programs.smtpjournal:dspsmtpjrn') +
                          MAXPOS(0) +
                          HELP('Shows the SMTP journal that CHGSMTPA JOURNAL(*YES) +
                          has the server and client jobs write: every connection, +
                          HELO, MAIL, RCPT decision with its explanation, queued +
                          message, filter action, delivery attempt and bounce, +
                          selected by time, client, sender, recipient or queue ID. +
                          IBM i shows its SMTP journal QZMF with DSPJRN; this +
                          command is qtsmtp''s own.')
             PARM       KWD(FROMTIME) TYPE(*CHAR) LEN(19) SPCVAL((*FIRST)) +
                          DFT(*FIRST) PROMPT('Starting time (UTC)') +
                          HELP('The first time shown: YYYY-MM-DD, YYYY-MM-DD HH:MM or +
                          YYYY-MM-DD HH:MM:SS, in UTC; *FIRST: from the oldest +
                          entry.')
             PARM       KWD(TOTIME) TYPE(*CHAR) LEN(19) SPCVAL((*LAST)) +
                          DFT(*LAST) PROMPT('Ending time (UTC)') +
                          HELP('The last time shown, as FROMTIME (a day alone means +
                          its end); *LAST: to the newest entry.')
             PARM       KWD(CLIENT) TYPE(*CHAR) LEN(45) SPCVAL((*ALL)) DFT(*ALL) +
                          PROMPT('Client address') +
                          HELP('Only the entries of connections from this client +
                          address.')
             PARM       KWD(SENDER) TYPE(*CHAR) LEN(256) CASE(*MIXED) +
                          SPCVAL((*ALL)) DFT(*ALL) PROMPT('Sender') +
                          HELP('Only the entries of mail from this sender; a name +
                          ending in * is generic (joe@*). No case.')
             PARM       KWD(RCPT) TYPE(*CHAR) LEN(256) CASE(*MIXED) +
                          SPCVAL((*ALL)) DFT(*ALL) PROMPT('Recipient') +
                          HELP('Only the entries that name this recipient; a name +
                          ending in * is generic. No case.')
             PARM       KWD(MSGID) TYPE(*CHAR) LEN(32) SPCVAL((*ALL)) DFT(*ALL) +
                          PROMPT('Queue ID') +
                          HELP('The story of one message: its session (HELO, MAIL, +
                          RCPT), its queueing or filtering, each delivery attempt +
                          and its bounce.')
             PARM       KWD(OUTPUT) TYPE(*CHAR) LEN(6) RSTD(*YES) +
                          VALUES('*' *PRINT) DFT('*') PROMPT('Output') +
                          HELP('*: one line per entry. *PRINT: the printed report, +
                          132 columns, with a heading and the selection.')
