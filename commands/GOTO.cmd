/*********************************************************************/
/* GOTO      - Go To                                               */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Go To') MAXPOS(1) +
                          HELP('Goes on with the statement that has +
                          the label given.')
             PARM       KWD(CMDLBL) TYPE(*CHAR) LEN(10) MIN(1) CHOICE('Label') +
                          PROMPT('Command label') HELP('The label of +
                          the statement to go on with.')
