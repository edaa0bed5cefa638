/*********************************************************************/
/* DOWHILE   - Do While                                            */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Do While') MAXPOS(1) +
                          HELP('Runs the group up to its ENDDO again +
                          and again while the condition is true; the +
                          condition is tested before each pass.')
             PARM       KWD(COND) TYPE(*CHAR) LEN(5000) CHOICE('Expression') MIN(1) +
                          PROMPT('Condition') HELP('A logical +
                          expression.')
