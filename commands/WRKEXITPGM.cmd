/*********************************************************************/
/* WRKEXITPGM - Work with Exit Programs (printed list)                */
/*********************************************************************/
             CMD        PROMPT('Work with Exit Programs') PGM('qtsmtp.programs.exits:wrkexitpgm') +
                          MAXPOS(1) +
                          HELP('Lists the exit programs registered with ADDEXITPGM: +
                          exit point, format, program number, kind, time budget, +
                          default action and program. IBM i shows them through +
                          WRKREGINF option 8; this command prints the list.')
             PARM       KWD(EXITPNT) TYPE(*CHAR) LEN(20) SPCVAL((*ALL)) DFT(*ALL) +
                          PROMPT('Exit point') +
                          HELP('The exit point whose programs are listed, or *ALL.')
