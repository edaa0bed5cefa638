/*********************************************************************/
/* ENDDO     - End Do                                              */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('End Do') MAXPOS(0) +
                          HELP('Ends the innermost DO, DOWHILE, +
                          DOUNTIL or DOFOR group.')
