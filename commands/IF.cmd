/*********************************************************************/
/* IF        - If                                                  */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('If') MAXPOS(2) +
                          HELP('Runs the command of THEN when the +
                          condition is true. THEN(DO) starts a group +
                          that ENDDO ends; ELSE may follow.')
             PARM       KWD(COND) TYPE(*CHAR) LEN(5000) CHOICE('Expression') MIN(1) +
                          PROMPT('Condition') HELP('A logical +
                          expression, such as (&N *GT 0) *AND (&TYPE +
                          *EQ REJECT).')
             PARM       KWD(THEN) TYPE(*CMDSTR) LEN(5000) +
                          PROMPT('Command') HELP('The command run when +
                          the condition is true.')
