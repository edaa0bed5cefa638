/*********************************************************************/
/* RMVUSRSMTP - Remove User from SMTP                                */
/*********************************************************************/
             CMD        PROMPT('Remove User from SMTP') PGM('qtsmtp.programs.users:rmvusrsmtp') +
                          MAXPOS(1) +
                          HELP('Removes a user profile from the SMTP user directory. +
                          The user can no longer send with SNDSMTPEMM. Unlike IBM i, +
                          the mail in the user''s mailbox is kept.')
             PARM       KWD(USRPRF) TYPE(*NAME) LEN(10) MIN(1) PROMPT('User profile') +
                          HELP('The user profile to remove.')
