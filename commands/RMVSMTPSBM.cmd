/*********************************************************************/
/* RMVSMTPSBM - Remove SMTP Submission Profile (a qtsmtp command)    */
/*********************************************************************/
             CMD        PROMPT('Remove SMTP Submission Profile') PGM('qtsmtp.programs.submission:rmvsmtpsbm') +
                          MAXPOS(1) +
                          HELP('Removes a submission control profile from member +
                          QUSRSYS/QATMSBMCTL(PROFILES). The client queue uses the +
                          change for the next submission it picks up.')
             PARM       KWD(PRF) TYPE(*CHAR) LEN(255) MIN(1) PROMPT('Profile name') +
                          HELP('The profile name, exactly as it was added.')
