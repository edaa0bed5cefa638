/*********************************************************************/
/* HLDEXITPGM - Hold Exit Program                                     */
/*********************************************************************/
             CMD        PROMPT('Hold Exit Program') PGM('qtsmtp.programs.exits:hldexitpgm') +
                          MAXPOS(3) +
                          HELP('Holds an exit program of exit point QIBM_QTMS_SMTP_EXIT: it stays registered, +
                          with its number, program data and settings, and new +
                          connections do not call it until RLSEXITPGM releases +
                          it. Sessions already connected keep calling it until +
                          they end. WRKEXITPGM shows it with status HLD. IBM i''s +
                          registration facility has no such command; the name +
                          and the verb are those of IBM''s hold commands +
                          (HLDJOB, HLDJOBQ, HLDWTR).')
             PARM       KWD(EXITPNT) TYPE(*CHAR) LEN(20) MIN(1) +
                          PROMPT('Exit point') +
                          HELP('The exit point: QIBM_QTMS_SMTP_EXIT.')
             PARM       KWD(FORMAT) TYPE(*NAME) LEN(8) MIN(1) +
                          PROMPT('Exit point format') +
                          HELP('The format of the exit point: SMTP0100.')
             PARM       KWD(PGMNBR) TYPE(*INT4) RANGE(1 2147483647) +
                          SPCVAL((*ALL)) MIN(1) PROMPT('Program number') +
                          HELP('The number of the program to hold, or *ALL.')
