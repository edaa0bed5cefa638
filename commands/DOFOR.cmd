/*********************************************************************/
/* DOFOR     - Do For                                              */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Do For') MAXPOS(4) +
                          HELP('Runs the group up to its ENDDO once +
                          for each value of an *INT or *UINT variable, +
                          from FROM to TO by BY.')
             PARM       KWD(VAR) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') MIN(1) +
                          PROMPT('Variable name') HELP('The *INT or +
                          *UINT control variable.')
             PARM       KWD(FROM) TYPE(*CHAR) LEN(5000) CHOICE('Expression') MIN(1) +
                          PROMPT('From value') HELP('The first +
                          value.')
             PARM       KWD(TO) TYPE(*CHAR) LEN(5000) CHOICE('Expression') MIN(1) +
                          PROMPT('To value') HELP('The last value; it +
                          is evaluated before each pass.')
             PARM       KWD(BY) TYPE(*INT4) DFT(1) +
                          PROMPT('By value') HELP('The step, a whole +
                          number other than 0.')
