/*********************************************************************/
/* SELECT    - Select                                              */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Select') MAXPOS(0) +
                          HELP('Starts a group of WHEN statements, and +
                          an OTHERWISE, that ENDSELECT ends: the +
                          command of the first WHEN whose condition is +
                          true runs, else the command of OTHERWISE.')
