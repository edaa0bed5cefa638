/*********************************************************************/
/* ADDEXITPGM - Add Exit Program                                      */
/*********************************************************************/
             CMD        PROMPT('Add Exit Program') PGM('qtsmtp.programs.exits:addexitpgm') +
                          MAXPOS(4) +
                          HELP('Registers an exit program at exit point +
                          QIBM_QTMS_SMTP_EXIT, format SMTP0100: the SMTP server +
                          calls it for HELO or EHLO, MAIL, RCPT and the end of DATA +
                          of every new connection, and it answers continue, reject +
                          with a reply code and text, or accept and stop calling it +
                          for this message. It cannot change the message. Adding, +
                          replacing or removing a program affects new connections +
                          only: a session keeps the programs it started with, so +
                          the first command a new program sees is HELO or EHLO. +
                          The registration is kept in member +
                          QUSRSYS/QATMEXITPG(EXITPGM). The exit point and its +
                          conventions are qtsmtp''s own; see qtsmtp-exit(5).')
             PARM       KWD(EXITPNT) TYPE(*CHAR) LEN(20) MIN(1) +
                          PROMPT('Exit point') +
                          HELP('The exit point: QIBM_QTMS_SMTP_EXIT, the only one +
                          qtsmtp provides.')
             PARM       KWD(FORMAT) TYPE(*NAME) LEN(8) MIN(1) +
                          PROMPT('Exit point format') +
                          HELP('The format of the exit point: SMTP0100.')
             PARM       KWD(PGMNBR) TYPE(*INT4) RANGE(1 2147483647) +
                          SPCVAL((*LOW) (*HIGH)) MIN(1) PROMPT('Program number') +
                          HELP('The order in which the programs of the exit point are +
                          called, lowest first. *LOW: the lowest number not in use. +
                          *HIGH: one more than the highest in use.')
             PARM       KWD(PGM) TYPE(*CHAR) LEN(512) CASE(*MIXED) MIN(1) +
                          PROMPT('Program') +
                          HELP('The program. package.module:function: a Python +
                          callable, called in the server job. /path/to/program +
                          with arguments: an external program started by each +
                          server job and spoken to with the line protocol of +
                          qtsmtp-exit(5). policy:inet:host:port or +
                          policy:unix:/path: a Postfix policy server +
                          (check_policy_service protocol).')
             PARM       KWD(REPLACE) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*NO *YES) DFT(*NO) PROMPT('Replace existing entry') +
                          HELP('*YES: a program already registered with this number +
                          is replaced, for new connections.')
             PARM       KWD(TIMEOUT) TYPE(*INT4) RANGE(1 600000) DFT(2000) +
                          PROMPT('Time budget (ms, qtsmtp extension)') +
                          HELP('How long, in milliseconds, one call may take. A call +
                          that takes longer, fails or cannot be made gets DFTACN, +
                          and the server job log says so; other sessions never wait +
                          for it.')
             PARM       KWD(DFTACN) TYPE(*CHAR) LEN(9) RSTD(*YES) +
                          VALUES(*CONTINUE *REJECT) DFT(*CONTINUE) +
                          PROMPT('Default action (qtsmtp extension)') +
                          HELP('What a call that times out or fails means. +
                          *CONTINUE: as if the program said continue. *REJECT: the +
                          command gets 451 4.7.1, a temporary refusal, so the +
                          client tries again later.')
             PARM       KWD(PGMDTA) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SPCVAL((*NONE)) DFT(*NONE) PROMPT('Program data') +
                          HELP('Text handed to the program with every call.')
             PARM       KWD(THREADS) TYPE(*INT4) RANGE(1 256) DFT(16) +
                          PROMPT('Threads (qtsmtp extension)') +
                          HELP('For a plain Python function: how many of its calls +
                          may run at once in each server job, each in a thread of +
                          its own. A call past its time budget cannot be stopped +
                          and keeps its thread until it returns; when every thread +
                          is held that way, further calls get DFTACN at once, the +
                          server job log says so once (TCP6086) and WRKACTJOB +
                          option 5 counts them. No effect on async functions, +
                          external programs and policy servers, which use no +
                          thread.')
