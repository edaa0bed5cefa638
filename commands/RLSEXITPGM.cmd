/*********************************************************************/
/* RLSEXITPGM - Release Exit Program                                  */
/*********************************************************************/
             CMD        PROMPT('Release Exit Program') PGM('qtsmtp.programs.exits:rlsexitpgm') +
                          MAXPOS(3) +
                          HELP('Releases an exit program that HLDEXITPGM held: new +
                          connections call it again; sessions already connected +
                          keep the programs they started with. WRKEXITPGM shows +
                          it with status RLS.')
             PARM       KWD(EXITPNT) TYPE(*CHAR) LEN(20) MIN(1) +
                          PROMPT('Exit point') +
                          HELP('The exit point: QIBM_QTMS_SMTP_EXIT.')
             PARM       KWD(FORMAT) TYPE(*NAME) LEN(8) MIN(1) +
                          PROMPT('Exit point format') +
                          HELP('The format of the exit point: SMTP0100.')
             PARM       KWD(PGMNBR) TYPE(*INT4) RANGE(1 2147483647) +
                          SPCVAL((*ALL)) MIN(1) PROMPT('Program number') +
                          HELP('The number of the program to release, or *ALL.')
