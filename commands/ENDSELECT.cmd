/*********************************************************************/
/* ENDSELECT - End Select                                          */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('End Select') MAXPOS(0) +
                          HELP('Ends a SELECT group.')
