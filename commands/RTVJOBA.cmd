/*********************************************************************/
/* RTVJOBA   - Retrieve Job Attributes                             */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Retrieve Job Attributes') MAXPOS(0) +
                          HELP('Retrieves attributes of the job that +
                          runs the program into *CHAR variables.')
             PARM       KWD(JOB) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for JOB') HELP('The job name: +
                          QTSMTPRUN (*CHAR 10).')
             PARM       KWD(USER) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for USER') HELP('The user +
                          that runs the program, in upper case (*CHAR +
                          10).')
             PARM       KWD(NBR) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for NBR') HELP('The job +
                          number: the process number, six digits +
                          (*CHAR 6).')
             PARM       KWD(TYPE) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for TYPE') HELP('0 batch (no +
                          terminal), 1 interactive (*CHAR 1).')
             PARM       KWD(DATE) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') +
                          PROMPT('CL var for DATE') HELP('The job +
                          date, YYMMDD (*CHAR 6).')
