/*********************************************************************/
/* RMVEXITPGM - Remove Exit Program                                   */
/*********************************************************************/
             CMD        PROMPT('Remove Exit Program') PGM('qtsmtp.programs.exits:rmvexitpgm') +
                          MAXPOS(3) +
                          HELP('Removes an exit program from exit point +
                          QIBM_QTMS_SMTP_EXIT. Sessions already connected keep +
                          calling it until they end; new connections do not.')
             PARM       KWD(EXITPNT) TYPE(*CHAR) LEN(20) MIN(1) +
                          PROMPT('Exit point') +
                          HELP('The exit point: QIBM_QTMS_SMTP_EXIT.')
             PARM       KWD(FORMAT) TYPE(*NAME) LEN(8) MIN(1) +
                          PROMPT('Exit point format') +
                          HELP('The format of the exit point: SMTP0100.')
             PARM       KWD(PGMNBR) TYPE(*INT4) RANGE(1 2147483647) +
                          SPCVAL((*ALL)) MIN(1) PROMPT('Program number') +
                          HELP('The number of the program to remove, or *ALL.')
