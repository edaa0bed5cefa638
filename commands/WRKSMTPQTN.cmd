/*********************************************************************/
/* WRKSMTPQTN - Work with SMTP Quarantine (a qtsmtp command)         */
/*********************************************************************/
             CMD        PROMPT('Work with SMTP Quarantine') PGM('qtsmtp.programs.quarantine:wrksmtpqtn') +
                          MAXPOS(2) +
                          HELP('Lists the messages a mail filter kept +
                          (CHGSMTPA FTRACN(*KEEP)) with why each was kept, +
                          releases them to the SMTP queue for delivery, or +
                          deletes them. IBM i keeps such mail in a directory +
                          and has no command for it; the name follows WRKSMTPQ.')
             PARM       KWD(OPTION) TYPE(*CHAR) LEN(8) RSTD(*YES) +
                          VALUES(*LIST *RELEASE *DELETE) DFT(*LIST) +
                          PROMPT('Option') +
                          HELP('*LIST: print the quarantine. *RELEASE: move the +
                          chosen messages to the SMTP queue, where the client +
                          job delivers them. *DELETE: delete them.')
             PARM       KWD(MSGID) TYPE(*CHAR) LEN(32) SPCVAL((*ALL)) DFT(*ALL) +
                          PROMPT('Queue ID') +
                          HELP('The queue ID of one message, as the list shows it +
                          and the job log named it, or *ALL.')
             PARM       KWD(OUTPUT) TYPE(*CHAR) LEN(6) RSTD(*YES) +
                          VALUES('*' *PRINT) DFT('*') PROMPT('Output') +
                          HELP('For *LIST. *: one line per message. *PRINT: the +
                          printed report, 132 columns, with a heading and each +
                          message''s envelope and reason.')
