/*********************************************************************/
/* ITERATE   - Iterate                                             */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Iterate') MAXPOS(1) +
                          HELP('Starts the next pass of the innermost +
                          DOWHILE, DOUNTIL or DOFOR group, or the one +
                          whose label is given.')
             PARM       KWD(CMDLBL) TYPE(*CHAR) LEN(10) DFT(*CURRENT) CHOICE('*CURRENT, label') +
                          PROMPT('Command label') HELP('*CURRENT: the +
                          innermost loop; or the label of the DOWHILE, +
                          DOUNTIL or DOFOR.')
