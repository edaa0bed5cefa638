/*********************************************************************/
/* ADDSMTPAUT - Add SMTP Authentication User (a qtsmtp command)      */
/*********************************************************************/
             CMD        PROMPT('Add SMTP Authentication User') PGM('qtsmtp.programs.credentials:addsmtpaut') +
                          MAXPOS(2) +
                          HELP('Adds a user who may log on to the SMTP server with +
                          AUTH PLAIN or AUTH LOGIN, after STARTTLS. The password is +
                          kept only as an scrypt hash, in member +
                          QUSRSYS/QATMSMTPC(AUTH), which only its owner can read. +
                          A logged-on client may relay when CHGSMTPA ALWAUTH +
                          includes *RELAY. The running server uses the change +
                          from the next AUTH command. IBM i has no such command: +
                          its server checks IBM i user profiles.')
             PARM       KWD(USER) TYPE(*CHAR) LEN(64) CASE(*MIXED) MIN(1) +
                          PROMPT('User name') +
                          HELP('The name the client gives in AUTH: up to 64 +
                          printable characters without blanks, quotes or +
                          backslashes. Case matters.')
             PARM       KWD(PASSWORD) TYPE(*CHAR) LEN(256) CASE(*MIXED) +
                          SPCVAL((*STDIN)) DFT(*STDIN) DSPINPUT(*NO) +
                          PROMPT('Password') +
                          HELP('The password. *STDIN, the default: read it from the +
                          first line of standard input, so that it does not show +
                          in the process list.')
