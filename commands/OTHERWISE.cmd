/*********************************************************************/
/* OTHERWISE - Otherwise                                           */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Otherwise') MAXPOS(1) +
                          HELP('In a SELECT group, after its WHEN +
                          statements: runs its command when no WHEN +
                          condition was true.')
             PARM       KWD(CMD) TYPE(*CMDSTR) LEN(5000) +
                          PROMPT('Command') HELP('The command run when +
                          no WHEN condition was true.')
