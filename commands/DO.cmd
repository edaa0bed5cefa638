/*********************************************************************/
/* DO        - Do Group                                            */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Do Group') MAXPOS(0) +
                          HELP('Starts a group of statements that +
                          ENDDO ends; usually the command of IF THEN, +
                          ELSE, WHEN, OTHERWISE or MONMSG EXEC.')
