/*********************************************************************/
/* RCVMSG    - Receive Message                                     */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Receive Message') MAXPOS(0) +
                          HELP('Receives a message the commands of the +
                          program sent, into variables. A variable +
                          whose message part does not exist is set to +
                          blanks.')
             PARM       KWD(MSGTYPE) TYPE(*CHAR) LEN(5) RSTD(*YES) VALUES(*ANY *LAST *EXCP *COMP *DIAG *INFO) DFT(*ANY) +
                          PROMPT('Message type') HELP('*ANY: the +
                          oldest message not yet received; *LAST: the +
                          newest; *EXCP: the newest escape message; +
                          *COMP, *DIAG, *INFO: the oldest of that +
                          type.')
             PARM       KWD(RMV) TYPE(*CHAR) LEN(4) RSTD(*YES) VALUES(*YES *NO) DFT(*YES) +
                          PROMPT('Remove message') HELP('*YES: the +
                          message cannot be received again.')
             PARM       KWD(MSG) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for message') HELP('Receives +
                          the first-level text (*CHAR).')
             PARM       KWD(MSGDTA) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for message data') +
                          HELP('Receives the substitution values, one +
                          after the other (*CHAR).')
             PARM       KWD(MSGID) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for MSGID') HELP('Receives +
                          the message identifier (*CHAR 7).')
             PARM       KWD(SEV) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for SEV') HELP('Receives the +
                          severity (*DEC 2 0 or *INT).')
             PARM       KWD(RTNTYPE) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for RTNTYPE') HELP('Receives +
                          the message type: 01 completion, 02 +
                          diagnostic, 04 informational, 15 escape +
                          (*CHAR 2).')
