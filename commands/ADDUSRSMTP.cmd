/*********************************************************************/
/* ADDUSRSMTP - Add User to SMTP                                     */
/*********************************************************************/
             CMD        PROMPT('Add User to SMTP') PGM('qtsmtp.programs.users:addusrsmtp') +
                          MAXPOS(1) +
                          HELP('Gives a user profile an SMTP e-mail address in the +
                          SMTP user directory, member QUSRSYS/QATMSMTPU(USERS). +
                          SNDSMTPEMM sends as that address, and the submission +
                          pickup accepts mail from the user only with it. Only +
                          users of the directory, by profile name or alias, and +
                          postmaster receive mail at the local domains; any +
                          other local recipient gets 550 5.1.1.')
             PARM       KWD(USRPRF) TYPE(*NAME) LEN(10) MIN(1) PROMPT('User profile') +
                          HELP('The user profile: the Unix login name, in upper case.')
             PARM       KWD(ALIAS) TYPE(*CHAR) LEN(64) CASE(*MIXED) +
                          SPCVAL((*USRPRF)) DFT(*USRPRF) PROMPT('Alias') +
                          HELP('The part of the address before the @. *USRPRF: the +
                          user profile name in lower case.')
             PARM       KWD(DOMAIN) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SPCVAL((*DFT)) DFT(*DFT) PROMPT('Domain') +
                          HELP('The part of the address after the @. *DFT: the +
                          system name (CHGSMTPA SYSNAME), as it is when the address +
                          is used. The domain must be local for mail to be sent.')
