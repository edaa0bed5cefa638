/*********************************************************************/
/* WRKSMTPSBM - Work with SMTP Submission Profiles (printed list)    */
/*********************************************************************/
             CMD        PROMPT('Work with SMTP Submission Profiles') PGM('qtsmtp.programs.submission:wrksmtpsbm') +
                          MAXPOS(1) +
                          HELP('Lists the submission control profiles and, for a +
                          user profile, which profile decides its submissions.')
             PARM       KWD(USRPRF) TYPE(*NAME) LEN(10) SPCVAL((*NONE)) DFT(*NONE) +
                          PROMPT('User profile to check') +
                          HELP('A user (Unix login name) whose resource +
                          QTSMTP.SUBMIT.group.user is checked against the profiles; +
                          the message says which profile decides. *NONE: only list.')
