/*********************************************************************/
/* WRKACTJOB - Work with Active Jobs                                 */
/* Shows the jobs of the qtsmtp servers (subsystem QSYSWRK).         */
/*********************************************************************/
             CMD        PROMPT('Work with Active Jobs') PGM('qtsmtp.panels.wrkactjob:wrkactjob') +
                          MAXPOS(1) +
                          HELP('Lists the active jobs with the CPU percent and status +
                          measured from their processes over a quarter of a second. +
                          When standard output is not a terminal the printed report +
                          is written whatever OUTPUT says.')
             PARM       KWD(OUTPUT) TYPE(*CHAR) LEN(6) RSTD(*YES) +
                          VALUES('*' *PRINT) DFT('*') PROMPT('Output') +
                          HELP('*: on a terminal, the Work with Active Jobs display: +
                          3=Hold, 4=End, 5=Work with, 6=Release; F5 refreshes, F10 +
                          restarts the statistics, F11 shows elapsed data. *PRINT: +
                          write the report to standard output.')
             PARM       KWD(SBS) TYPE(*NAME) LEN(10) SNGVAL((*ALL)) MAX(25) +
                          DFT(*ALL) PROMPT('Subsystem') +
                          HELP('Show only the jobs of these subsystems.')
             PARM       KWD(JOB) TYPE(*GENERIC) LEN(10) SPCVAL((*ALL)) DFT(*ALL) +
                          PROMPT('Job name') +
                          HELP('Show only the jobs with this name, or whose name +
                          starts with the text before a final *, as QTSMTP*.')
