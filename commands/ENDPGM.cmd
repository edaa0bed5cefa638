/*********************************************************************/
/* ENDPGM    - End Program                                         */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('End Program') MAXPOS(0) +
                          HELP('Ends a CL program: the last statement +
                          of its source. Running it ends the +
                          program.')
