/*********************************************************************/
/* LEAVE     - Leave Do Loop                                       */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Leave Do Loop') MAXPOS(1) +
                          HELP('Ends the innermost DOWHILE, DOUNTIL or +
                          DOFOR group, or the one whose label is +
                          given.')
             PARM       KWD(CMDLBL) TYPE(*CHAR) LEN(10) DFT(*CURRENT) CHOICE('*CURRENT, label') +
                          PROMPT('Command label') HELP('*CURRENT: the +
                          innermost loop; or the label of the DOWHILE, +
                          DOUNTIL or DOFOR.')
