/*********************************************************************/
/* PGM       - Program                                             */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Program') MAXPOS(1) +
                          HELP('Starts a CL program. Optional: a +
                          script without it runs as a program too when +
                          it uses program statements. PARM names the +
                          variables, declared by DCL, that receive the +
                          values given by qtsmtp run FILE PARM(...), +
                          in order.')
             PARM       KWD(PARM) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') MAX(255) +
                          PROMPT('Parameter CL variable names') +
                          HELP('The variables that receive the +
                          parameters, in the order they are passed.')
