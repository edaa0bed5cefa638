/*********************************************************************/
/* ADDSMTPSBM - Add SMTP Submission Profile (a qtsmtp command)       */
/*********************************************************************/
             CMD        PROMPT('Add SMTP Submission Profile') PGM('qtsmtp.programs.submission:addsmtpsbm') +
                          MAXPOS(2) +
                          HELP('Adds a profile that says whether local users may +
                          submit mail through the client queue (SNDSMTPEMM and the +
                          maildrop). A submission by user U of primary group G is +
                          the resource QTSMTP.SUBMIT.G.U; the most specific profile +
                          that matches it decides, and with no matching profile the +
                          submission is permitted. A refused submission is logged +
                          by the client job and reported to the submitter by a +
                          delivery status notification. Profiles are kept in member +
                          QUSRSYS/QATMSBMCTL(PROFILES), modelled on the z/OS CSSMTP +
                          EZB.CSSMTP profiles.')
             PARM       KWD(PRF) TYPE(*CHAR) LEN(255) MIN(1) PROMPT('Profile name') +
                          HELP('A generic name of dot-separated segments: a name, a +
                          name ending in * (a prefix), * (any one segment), or, as +
                          the last segment, ** (any number of segments). Example: +
                          QTSMTP.SUBMIT.*.OPS or QTSMTP.SUBMIT.STAFF.*.')
             PARM       KWD(ACCESS) TYPE(*CHAR) LEN(6) RSTD(*YES) +
                          VALUES(*ALLOW *DENY) MIN(1) PROMPT('Access') +
                          HELP('*ALLOW: the users the profile covers may submit. +
                          *DENY: their submissions are refused.')
             PARM       KWD(REPLACE) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*NO *YES) DFT(*NO) PROMPT('Replace existing profile') +
                          HELP('*YES: a profile of the same name is replaced.')
