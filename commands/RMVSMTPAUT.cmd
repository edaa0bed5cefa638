/*********************************************************************/
/* RMVSMTPAUT - Remove SMTP Authentication User (a qtsmtp command)   */
/*********************************************************************/
             CMD        PROMPT('Remove SMTP Authentication User') PGM('qtsmtp.programs.credentials:rmvsmtpaut') +
                          MAXPOS(1) +
                          HELP('Removes a user from the SMTP AUTH users in member +
                          QUSRSYS/QATMSMTPC(AUTH). The running server refuses the +
                          user from the next AUTH command; a session already +
                          logged on keeps its logon until it ends.')
             PARM       KWD(USER) TYPE(*CHAR) LEN(64) CASE(*MIXED) MIN(1) +
                          PROMPT('User name') +
                          HELP('The user to remove. Case matters.')
