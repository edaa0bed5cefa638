/*********************************************************************/
/* WRKSMTPLE - Work with SMTP List Entries                           */
/* qtsmtp's own: IBM i has no such command (its administrators have  */
/* wished for one). The panel and the report: qtsmtp.panels.         */
/*********************************************************************/
             CMD        PROMPT('Work with SMTP List Entries') PGM('qtsmtp.panels.wrksmtple:wrksmtple') +
                          MAXPOS(1) +
                          HELP('Shows the entries of the SMTP lists kept in +
                          QUSRSYS/QATMADRLST, with the ALWRLY value now stored +
                          and the lists it reads. On a terminal it is a Work +
                          with panel: 1=Add prompts ADDSMTPLE, 4=Remove runs +
                          RMVSMTPLE after a confirmation, 5=Display shows what an +
                          entry means and which entries it overlaps or shadows, +
                          and F8 tests the relay decision for a client address +
                          and a recipient. When standard output is not a +
                          terminal the printed report is written whatever +
                          OUTPUT says.')
             PARM       KWD(TYPE) TYPE(*CHAR) LEN(11) RSTD(*YES) +
                          VALUES(*ACCEPT *REJECT *NEAR *DOMAIN *SVRBIND +
                          *CLTBIND *ETRNSVR *FTRSUBJECT *FTRORIGIN +
                          *FTRFILNAME *FTRTYPE *HOSTAUTH *ACCEPTIP6 +
                          *REJECTIP6 *DOMAINIP6 *SVRBNDIP6 *CLTBNDIP6) +
                          SNGVAL((*ALL)) DFT(*ALL) PROMPT('List type') +
                          HELP('The list to show; *ALL shows every list, in the +
                          order ADDSMTPLE lists the types.')
             PARM       KWD(OUTPUT) TYPE(*CHAR) LEN(6) RSTD(*YES) +
                          VALUES('*' *PRINT) DFT('*') PROMPT('Output') +
                          HELP('*: the panel, on a terminal. *PRINT: the printed +
                          report (list type, ALWRLY, then one line per entry with +
                          whether the current ALWRLY reads it and its record +
                          number) on standard output.')
