/*********************************************************************/
/* WHEN      - When                                                */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('When') MAXPOS(2) +
                          HELP('In a SELECT group: runs its command +
                          when its condition is true and no WHEN +
                          before it was.')
             PARM       KWD(COND) TYPE(*CHAR) LEN(5000) CHOICE('Expression') MIN(1) +
                          PROMPT('Condition') HELP('A logical +
                          expression.')
             PARM       KWD(THEN) TYPE(*CMDSTR) LEN(5000) +
                          PROMPT('Command') HELP('The command run when +
                          the condition is true.')
