/*********************************************************************/
/* DOUNTIL   - Do Until                                            */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Do Until') MAXPOS(1) +
                          HELP('Runs the group up to its ENDDO, again +
                          and again until the condition is true; the +
                          condition is tested after each pass.')
             PARM       KWD(COND) TYPE(*CHAR) LEN(5000) CHOICE('Expression') MIN(1) +
                          PROMPT('Condition') HELP('A logical +
                          expression.')
