/*********************************************************************/
/* WRKSMTPQ - Work with SMTP Queue (a qtsmtp command)                */
/*********************************************************************/
             CMD        PROMPT('Work with SMTP Queue') PGM('qtsmtp.programs.wrksmtpq:wrksmtpq') +
                          MAXPOS(2) +
                          HELP('Lists the messages in the SMTP queue with the state of +
                          each recipient, or asks for them to be delivered now. +
                          IBM i has no such command; the name follows WRKSMTPLE.')
             PARM       KWD(OPTION) TYPE(*CHAR) LEN(7) RSTD(*YES) +
                          VALUES(*LIST *RETRY) DFT(*LIST) PROMPT('Option') +
                          HELP('*LIST: print the queue. *RETRY: deliver the chosen +
                          messages now, whatever their retry time: the client job +
                          does it when the server runs, else this command does it +
                          itself, as qtsmtp runqueue would.')
             PARM       KWD(MSGID) TYPE(*CHAR) LEN(32) SPCVAL((*ALL)) DFT(*ALL) +
                          PROMPT('Queue ID') +
                          HELP('The queue ID of one message, or *ALL.')
