/*********************************************************************/
/* ELSE      - Else                                                */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Else') MAXPOS(1) +
                          HELP('Runs its command when the condition of +
                          the IF just before it was false.')
             PARM       KWD(CMD) TYPE(*CMDSTR) LEN(5000) +
                          PROMPT('Command') HELP('The command run when +
                          the IF condition was false.')
