/*********************************************************************/
/* CHGUSRSMTP - Change User SMTP                                     */
/*********************************************************************/
             CMD        PROMPT('Change User SMTP') PGM('qtsmtp.programs.users:chgusrsmtp') +
                          MAXPOS(1) +
                          HELP('Changes the SMTP e-mail address of a user profile in +
                          the SMTP user directory.')
             PARM       KWD(USRPRF) TYPE(*NAME) LEN(10) MIN(1) PROMPT('User profile') +
                          HELP('The user profile, as ADDUSRSMTP enrolled it.')
             PARM       KWD(ALIAS) TYPE(*CHAR) LEN(64) CASE(*MIXED) +
                          SPCVAL((*SAME) (*USRPRF)) DFT(*SAME) PROMPT('Alias') +
                          HELP('The part of the address before the @. *SAME: keep it. +
                          *USRPRF: the user profile name in lower case.')
             PARM       KWD(DOMAIN) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SPCVAL((*SAME) (*DFT)) DFT(*SAME) PROMPT('Domain') +
                          HELP('The part of the address after the @. *SAME: keep it. +
                          *DFT: the system name.')
