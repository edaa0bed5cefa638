/*********************************************************************/
/* CHGVAR    - Change Variable                                     */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Change Variable') MAXPOS(2) +
                          HELP('Stores the value of an expression in a +
                          variable, or in part of a *CHAR variable +
                          given as %SST(&VAR start length).')
             PARM       KWD(VAR) TYPE(*CHAR) LEN(5000) MIN(1) CHOICE('CL variable name or %SST') +
                          PROMPT('CL variable name') HELP('The +
                          variable to change.')
             PARM       KWD(VALUE) TYPE(*CHAR) LEN(5000) CHOICE('Expression') MIN(1) +
                          PROMPT('Value') HELP('The new value: a +
                          constant, a variable or an expression.')
